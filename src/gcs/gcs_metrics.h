// GcsMetrics: what the GCS serves on GET /metrics. Gauges of its tables (nodes, jobs, actors
// and placement groups by state, tasks by state and function, table sizes, pub/sub
// subscribers), read on the GCS's event loop at each scrape; and the counters and histograms of
// task attempts as their events arrive (GcsTaskManager feeds them). Also keeps the cluster's
// Prometheus scrape targets file current as nodes come and go.
#pragma once

#include <memory>
#include <string>

#include "src/common/event_loop.h"
#include "src/gcs/gcs_actor_manager.h"
#include "src/gcs/gcs_job_manager.h"
#include "src/gcs/gcs_node_manager.h"
#include "src/gcs/gcs_placement_group_manager.h"
#include "src/gcs/gcs_task_manager.h"
#include "src/gcs/publisher.h"
#include "src/metrics/metrics_server.h"
#include "src/metrics/registry.h"

namespace orrery::gcs {

class GcsMetrics {
 public:
  struct Sources {
    EventLoop& loop;
    GcsNodeManager& nodes;
    GcsJobManager& jobs;
    GcsActorManager& actors;
    GcsPlacementGroupManager& groups;
    GcsTaskManager& tasks;
    Publisher& publisher;
  };

  // The task manager counts into this registry's task families from now on.
  explicit GcsMetrics(Sources sources);
  // Stops serving. Destroy it after the loop stopped (its sources' listeners hold it) or before
  // the sources: nothing here waits on the loop.
  ~GcsMetrics() { Stop(); }

  // Serves GET /metrics on host:port (0: a free port), HTTPS with `tls`; and, with a targets
  // file, writes the
  // cluster's scrape targets there whenever a node joins or dies (on the loop, which calls it).
  absl::Status Serve(const std::string& host, int port, std::shared_ptr<const rpc::TlsConfig> tls,
                     const std::string& targets_file);
  int port() const { return server_ ? server_->port() : 0; }
  void Stop() { server_.reset(); }

  metrics::Registry& registry() { return registry_; }

 private:
  void Collect(std::vector<metrics::Family>& out);
  void WriteTargets();

  Sources sources_;
  metrics::Registry registry_;
  gcs::TaskMetrics task_metrics_;
  std::unique_ptr<metrics::MetricsServer> server_;
  std::string host_;
  std::string targets_file_;
  bool https_ = false;
};

}  // namespace orrery::gcs
