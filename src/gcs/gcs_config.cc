#include "src/gcs/gcs_config.h"

#include "src/rpc/rpc_config.h"

namespace orrery::gcs {

const ConfigTable<GcsConfig>& GcsConfigTable() {
  static const ConfigTable<GcsConfig>* table = [] {
    auto* t = new ConfigTable<GcsConfig>();
    t->Add("host", &GcsConfig::host, "IP of this host to listen on (default: detect)")
        .Add("bind_all", &GcsConfig::bind_all, "Listen on every interface (0.0.0.0) instead of --host")
        .Add("port", &GcsConfig::port, "TCP port of the GCS (0: any free port)")
        .Add("metrics", &GcsConfig::metrics, "Serve GET /metrics and count RPCs for it (false: neither, as when measuring what metrics cost)")
        .Add("metrics_port", &GcsConfig::metrics_port,
             "TCP port of GET /metrics, for Prometheus (0: any free port; default 9391, or any free port with --port 0)")
        .Add("dashboard", &GcsConfig::dashboard, "Serve the web dashboard (false: do not)")
        .Add("dashboard_port", &GcsConfig::dashboard_port,
             "TCP port of the web dashboard (0: any free port; default 8265, or any free port with --port 0)")
        .Add("session_dir", &GcsConfig::session_dir, "Session directory for logs and the pid record")
        .Add("token", &GcsConfig::token, "Cluster token every call must carry", /*secret=*/true)
        .Add("token_file", &GcsConfig::token_file, "File holding the cluster token (mode 0600)")
        .Add("tls_dir", &GcsConfig::tls_dir, "TLS directory (cluster CA and certificates); empty: plain TCP")
        .Add("node_certificate_seconds", &GcsConfig::node_certificate_seconds,
             "Validity of the node certificates the cluster CA signs (renewed at two thirds of it)")
        .Add("token_origin", &GcsConfig::token_origin,
             "Where the token came from (generated, environment, explicit): a stored cluster's token wins over a "
             "generated one or one from the environment, and refuses a different explicit one")
        .Add("gcs_storage", &GcsConfig::gcs_storage,
             "Where the tables live: memory (lost with the process), rocksdb:PATH, or "
             "redis://[user:password@]HOST:PORT[/db]")
        .Add("gcs_storage_sync", &GcsConfig::gcs_storage_sync,
             "always (each write synced before it is answered) or batch (synced every 5 ms; a crash of the "
             "process loses nothing)")
        .Add("gcs_storage_prefix", &GcsConfig::gcs_storage_prefix,
             "Prefix of every Redis key, so that clusters can share one Redis")
        .Add("gcs_storage_reset", &GcsConfig::gcs_storage_reset,
             "Start with empty storage, deleting what the storage holds")
        .Add("health_check_period_ms", &GcsConfig::health_check_period_ms, "How often each raylet is checked")
        .Add("health_check_timeout_ms", &GcsConfig::health_check_timeout_ms,
             "Deadline of one health check (0: the period)")
        .Add("health_check_failure_threshold", &GcsConfig::health_check_failure_threshold,
             "Missed checks in a row after which a node is dead")
        .Add("pubsub_history", &GcsConfig::pubsub_history, "Messages kept per channel for reconnecting subscribers")
        .Add("pubsub_max_queued", &GcsConfig::pubsub_max_queued,
             "Messages queued for one subscriber before it is dropped")
        .Add("worker_failure_history", &GcsConfig::worker_failure_history, "Worker failure reports kept")
        .Add("dead_actor_history", &GcsConfig::dead_actor_history,
             "Dead actors kept (in memory and storage); older ones are forgotten")
        .Add("finished_job_history", &GcsConfig::finished_job_history,
             "Finished jobs kept (in memory and storage); older ones are forgotten")
        .Add("task_events_per_job", &GcsConfig::task_events_per_job,
             "Task attempts kept per job for `orrery list tasks` and `orrery timeline` (oldest evicted)")
        .Add("working_dir_hold_ms", &GcsConfig::working_dir_hold_ms,
             "How long a working_dir package uploaded (or checked for) stays in the GCS while no job uses it; "
             "packages no running or submitted job uses are deleted past it")
        .Add("log_level", &GcsConfig::log_level, "trace, debug, info, warn or error")
        .Add("ready_fd", &GcsConfig::ready_fd, "Descriptor to report readiness on (set by orrery start)");
    rpc::AddRpcConfig(*t, &GcsConfig::rpc);
    return t;
  }();
  return *table;
}

}  // namespace orrery::gcs
