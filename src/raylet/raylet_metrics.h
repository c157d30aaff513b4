// What a raylet serves on GET /metrics: its node's workers by state, zygotes, the lease queue
// and leases granted, the node's resources (total and available), its object store (bytes,
// objects, primaries, spilled, evictions, clients), its host's memory use, its RPC calls
// (rpc_metrics.h), and the metrics its
// workers and drivers report of their own (UserMetricsTable). Every sample is labelled with the
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

namespace orrery::raylet {

class RayletMetrics {
 public:
  struct Sources {
    NodeId node;
    EventLoop& loop;
    NodeManager& node_manager;
    object_store::StoreServer& store;
    metrics::UserMetricsTable& user_metrics;
  };

  // Serves on host:port (0: a free port). Stop it before the loop stops: a scrape waits on it.
  static absl::StatusOr<std::unique_ptr<RayletMetrics>> Start(Sources sources, const std::string& host, int port);
  int port() const { return server_->port(); }

 private:
  explicit RayletMetrics(Sources sources);
  void Collect(std::vector<metrics::Family>& out);

  Sources sources_;
  metrics::Registry registry_;
  std::unique_ptr<metrics::MetricsServer> server_;
};

}  // namespace orrery::raylet
