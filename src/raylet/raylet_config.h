// Settings of orrery-raylet: defaults here, overridable by --kebab-flag and ORRERY_<NAME>.
#pragma once

#include <string>

#include "src/common/config_table.h"
#include "src/rpc/rpc_options.h"

namespace orrery::raylet {

struct RayletConfig {
  std::string gcs_address;
  std::string node_ip_address;
  // Listen on every interface instead of node_ip_address (orrery start --bind-all); this node's
  // workers and drivers follow.
  bool bind_all = false;
  int32_t node_manager_port = 0;
  // The object data socket other nodes pull objects from (ObjectServer).
  int32_t object_data_port = 0;
  // TCP port of GET /metrics, for Prometheus (0: any free port), recorded in the node table.
  bool metrics = true;
  int32_t metrics_port = 0;
  std::string temp_dir;
  std::string session_dir;
  std::string token;
  std::string token_file;
  // The node's TLS directory: every port and channel is mutual TLS with its certificates, and
  // the node's workers and drivers use it too. Empty: plain TCP.
  std::string tls_dir;
  // Joining a TLS cluster instead (node_tls.h): the cluster CA to trust, as a file on this host
  // or as the fingerprint of the one the GCS presents. This node then gets a certificate of its
  // own, naming its node id, in its node folder.
  std::string ca_file;
  std::string ca_hash;
  // Negative: detect (the machine's cores; GPUs from CUDA_VISIBLE_DEVICES or nvidia-smi).
  double num_cpus = -1;
  int32_t num_gpus = -1;
  // Bytes of memory offered to tasks and actors (Ray's "memory" resource). Negative: the
  // host's available memory less the object store, as Ray computes it.
  int64_t memory = -1;
  std::string resources = "{}";
  int64_t worker_idle_timeout_ms = 60'000;
  int64_t worker_start_timeout_ms = 30'000;
  int64_t worker_kill_grace_ms = 2'000;
  int32_t max_actor_workers = 1000;
  double scheduler_spread_threshold = 0.5;
  bool prestart_workers = true;
  int64_t max_lease_wait_ms = 30'000;
  int64_t gcs_connect_timeout_ms = 30'000;
  int64_t gcs_lost_timeout_ms = 60'000;
  int64_t resource_report_period_ms = 1'000;
  // Bytes of shared memory for the object store. Negative: 30% of RAM, less what other stores
  // on this host's IP hold, so that they stay under half of RAM together.
  int64_t object_store_memory = -1;
  bool object_store_prefault = false;
  // Where primaries spill when the store is past its high-water mark (default: the node's
  // folder in the session).
  std::string spill_dir;
  double object_store_high_water = 0.8;
  // The memory monitor: above this fraction of the host's memory in use it kills a worker;
  // refresh 0 turns it off.
  double memory_usage_threshold = 0.95;
  int64_t memory_monitor_refresh_ms = 250;
  std::string log_level = "info";
  int32_t ready_fd = -1;
  rpc::RpcOptions rpc;
};

const ConfigTable<RayletConfig>& RayletConfigTable();

}  // namespace orrery::raylet
