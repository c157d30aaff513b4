// What a raylet serves on GET /metrics: its node's workers by state, worker starts (failed ones,
// and their time to register), zygotes, the lease queue and leases granted, the node's
// resources (total and available), its object store (bytes, objects, primaries, spilled,
// restored, evictions, clients), objects copied in from and sent to other nodes, its host's
// CPU time, memory and GPUs' use, its RPC calls (rpc_metrics.h), and the metrics its workers
// and drivers report of their own (UserMetricsTable). Every sample is labelled with the
// node's id. Read at each scrape: the node manager's state on the raylet's
// loop, the store's counters on the store's thread.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "src/common/event_loop.h"
#include "src/common/id.h"
#include "src/metrics/metrics_server.h"
#include "src/metrics/registry.h"
#include "src/metrics/user_metrics_table.h"
#include "src/object_store/store_server.h"
#include "src/raylet/node_manager.h"
#include "src/raylet/node_usage.h"
#include "src/raylet/object_server.h"

namespace orrery::raylet {

class RayletMetrics {
 public:
  struct Sources {
    NodeId node;
    EventLoop& loop;
    NodeManager& node_manager;
    object_store::StoreServer& store;
    ObjectServer& object_server;
    metrics::UserMetricsTable& user_metrics;
    // Sample the GPUs' use with nvidia-smi (the node found its GPUs with it).
    bool sample_gpus = false;
  };

  // Serves on host:port (0: a free port). Stop it before the loop stops: a scrape waits on it.
  // HTTPS with `tls` (null: plain HTTP).
  static absl::StatusOr<std::unique_ptr<RayletMetrics>> Start(Sources sources, const std::string& host, int port,
                                                              std::shared_ptr<const rpc::TlsConfig> tls);
  int port() const { return server_->port(); }

 private:
  explicit RayletMetrics(Sources sources);
  void Collect(std::vector<metrics::Family>& out);
  void AppendHostUsage(std::vector<metrics::Family>& out) const;

  Sources sources_;
  metrics::Registry registry_;
  std::unique_ptr<GpuUsageSampler> gpus_;  // null without sample_gpus
  std::unique_ptr<metrics::MetricsServer> server_;
};

}  // namespace orrery::raylet
