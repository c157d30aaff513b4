// Settings of orrery-gcs: defaults here, overridable by --kebab-flag and ORRERY_<NAME>.
#pragma once

#include <string>

#include "src/common/config_table.h"
#include "src/rpc/rpc_options.h"

namespace orrery::gcs {

inline constexpr int kDefaultGcsPort = 6391;
inline constexpr int kDefaultGcsMetricsPort = 9391;
inline constexpr int kDefaultDashboardPort = 8265;  // as Ray's

struct GcsConfig {
  // This host's IP, which the GCS listens on (empty: detect, as DefaultNodeIp()).
  std::string host;
  // Listen on every interface instead (orrery start --bind-all).
  bool bind_all = false;
  int32_t port = kDefaultGcsPort;
  // TCP port of GET /metrics (0: any free port). Negative: kDefaultGcsMetricsPort, or any free
  // port when `port` is 0 (a head nobody finds by a fixed port has no fixed metrics port either).
  bool metrics = true;
  int32_t metrics_port = -1;
  // The web dashboard, on its own port, chosen as metrics_port is (default kDefaultDashboardPort).
  bool dashboard = true;
  int32_t dashboard_port = -1;
  std::string session_dir;
  std::string token;
  std::string token_file;
  // The head's TLS directory (orrery start --head makes it): every port and channel is mutual
  // TLS with its certificates. Empty: plain TCP.
  std::string tls_dir;
  // How long the node certificates this GCS signs are valid (their holders renew at 2/3).
  int64_t node_certificate_seconds = 30LL * 24 * 3600;
  // Where --token/--token-file came from: what to do when it differs from the stored token.
  std::string token_origin = "explicit";
  // memory, rocksdb:PATH or redis://... (storage/store_factory.h).
  std::string gcs_storage = "memory";
  std::string gcs_storage_sync = "batch";
  std::string gcs_storage_prefix = "orrery:";
  bool gcs_storage_reset = false;
  int64_t health_check_period_ms = 1000;
  int64_t health_check_timeout_ms = 0;
  int32_t health_check_failure_threshold = 5;
  int64_t pubsub_history = 1000;
  int64_t pubsub_max_queued = 10000;
  int64_t worker_failure_history = 10000;
  // Dead actors and finished jobs kept (in memory and storage); older ones are forgotten.
  int64_t dead_actor_history = 10000;
  int64_t finished_job_history = 10000;
  int64_t task_events_per_job = 10000;
  int64_t working_dir_hold_ms = 600'000;
  std::string log_level = "info";
  int32_t ready_fd = -1;
  rpc::RpcOptions rpc;
};

const ConfigTable<GcsConfig>& GcsConfigTable();

}  // namespace orrery::gcs
