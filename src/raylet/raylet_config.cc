#include "src/raylet/raylet_config.h"

#include "src/rpc/rpc_config.h"

namespace orrery::raylet {

const ConfigTable<RayletConfig>& RayletConfigTable() {
  static const ConfigTable<RayletConfig>* table = [] {
    auto* t = new ConfigTable<RayletConfig>();
    t->Add("gcs_address", &RayletConfig::gcs_address, "HOST:PORT of the cluster's GCS")
        .Add("node_ip_address", &RayletConfig::node_ip_address, "IP other hosts reach this node at (default: detect)")
        .Add("bind_all", &RayletConfig::bind_all,
             "Listen on every interface (0.0.0.0) instead of --node-ip-address; this node's workers and drivers too")
        .Add("node_manager_port", &RayletConfig::node_manager_port, "TCP port of the raylet (0: any free port)")
        .Add("metrics", &RayletConfig::metrics, "Serve GET /metrics and count RPCs for it (false: neither, as when measuring what metrics cost)")
        .Add("metrics_port", &RayletConfig::metrics_port,
             "TCP port of GET /metrics, for Prometheus (0: any free port; shown by orrery status)")
        .Add("object_data_port", &RayletConfig::object_data_port,
             "TCP port other nodes pull objects from (0: any free port)")
        .Add("temp_dir", &RayletConfig::temp_dir, "Root of sessions on this host")
        .Add("session_dir", &RayletConfig::session_dir, "Session directory for sockets, logs and the pid record")
        .Add("token", &RayletConfig::token, "Cluster token every call must carry", /*secret=*/true)
        .Add("token_file", &RayletConfig::token_file, "File holding the cluster token (mode 0600)")
        .Add("tls_dir", &RayletConfig::tls_dir, "TLS directory (cluster CA and certificates); empty: plain TCP")
        .Add("ca_file", &RayletConfig::ca_file,
             "Join a TLS cluster trusting this CA certificate: the node gets its own certificate from the GCS")
        .Add("ca_hash", &RayletConfig::ca_hash,
             "Join a TLS cluster trusting the CA the GCS presents only with this fingerprint (sha256:<hex>)")
        .Add("num_cpus", &RayletConfig::num_cpus, "CPUs to offer (negative: the machine's cores)")
        .Add("num_gpus", &RayletConfig::num_gpus, "GPUs to offer (negative: detect)")
        .Add("memory", &RayletConfig::memory,
             "Bytes of memory offered to tasks and actors (negative: available memory less the object store)")
        .Add("resources", &RayletConfig::resources, "Custom resources as JSON, e.g. {\"disk\": 2}")
        .Add("worker_idle_timeout_ms", &RayletConfig::worker_idle_timeout_ms, "Idle workers are ended after this")
        .Add("worker_start_timeout_ms", &RayletConfig::worker_start_timeout_ms,
             "A started worker that has not registered by then is killed")
        .Add("worker_kill_grace_ms", &RayletConfig::worker_kill_grace_ms,
             "Between SIGTERM and SIGKILL when ending a worker")
        .Add("max_actor_workers", &RayletConfig::max_actor_workers, "Most actor workers this node runs at once")
        .Add("prestart_workers", &RayletConfig::prestart_workers,
             "Start a worker per CPU at a job's first lease on this node")
        .Add("scheduler_spread_threshold", &RayletConfig::scheduler_spread_threshold,
             "Above this utilization (0-1) of what a request asks for, a node sends it to a less-used node")
        .Add("max_lease_wait_ms", &RayletConfig::max_lease_wait_ms,
             "Longest a lease request is held open before it is answered PENDING")
        .Add("gcs_connect_timeout_ms", &RayletConfig::gcs_connect_timeout_ms,
             "How long to keep trying to reach the GCS at start before giving up")
        .Add("gcs_lost_timeout_ms", &RayletConfig::gcs_lost_timeout_ms,
             "Exit (with the workers) after the GCS has been unreachable this long; also how long "
             "calls to the GCS from this node's raylet, workers and drivers keep retrying")
        .Add("resource_report_period_ms", &RayletConfig::resource_report_period_ms,
             "How often resource use and demand are reported to the GCS")
        .Add("object_store_memory", &RayletConfig::object_store_memory,
             "Bytes of shared memory for objects (negative: 30% of RAM, all stores on this host under 50%)")
        .Add("object_store_prefault", &RayletConfig::object_store_prefault,
             "Touch the object store's pages at start, so that first writes are fast")
        .Add("spill_dir", &RayletConfig::spill_dir, "Where objects spill to (default: the node's session folder)")
        .Add("object_store_high_water", &RayletConfig::object_store_high_water,
             "Fraction of the object store in use above which objects spill to disk")
        .Add("memory_usage_threshold", &RayletConfig::memory_usage_threshold,
             "Above this fraction of the host's memory in use, a worker is killed (the newest task of the "
             "owner with the most tasks here; an actor only when no task is left)")
        .Add("memory_monitor_refresh_ms", &RayletConfig::memory_monitor_refresh_ms,
             "How often the host's memory use is read (0: the memory monitor is off)")
        .Add("log_level", &RayletConfig::log_level, "trace, debug, info, warn or error")
        .Add("ready_fd", &RayletConfig::ready_fd, "Descriptor to report readiness on (set by orrery start)");
    rpc::AddRpcConfig(*t, &RayletConfig::rpc);
    return t;
  }();
  return *table;
}

}  // namespace orrery::raylet
