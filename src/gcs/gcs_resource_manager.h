// GcsResourceManager: the cluster's resource view. Raylets report their totals, what is
// available and their pending demand (shapes with counts); `orrery status` reads it back.
#pragma once

#include "absl/container/flat_hash_map.h"
#include "src/common/id.h"
#include "src/gcs/gcs_handler.h"
#include "src/gcs/gcs_node_manager.h"

namespace orrery::gcs {

// Owned and called by the GCS event loop only.
class GcsResourceManager final : public ResourceHandler {
 public:
  GcsResourceManager(GcsNodeManager& nodes, ClusterId cluster_id, int64_t start_time_ms);

  void HandleReportResourceUsage(const rpc::ReportResourceUsageRequest& request, rpc::ReportResourceUsageReply* reply,
                                 ReplyCallback done) override;
  void HandleGetClusterStatus(const rpc::GetClusterStatusRequest& request, rpc::GetClusterStatusReply* reply,
                              ReplyCallback done) override;

  void OnNodeDead(const NodeId& node_id) { usage_.erase(node_id); }

 private:
  GcsNodeManager& nodes_;
  const ClusterId cluster_id_;
  const int64_t start_time_ms_;
  absl::flat_hash_map<NodeId, rpc::NodeResourceUsage> usage_;
};

}  // namespace orrery::gcs
