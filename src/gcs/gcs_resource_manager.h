// GcsResourceManager: the cluster's resource view. Raylets report their totals, what is
// available and their pending demand (shapes with counts); `orrery status` reads it back, and
// every change of a node's total or available is published on RESOURCE_VIEW, from which each
// raylet keeps its view of the others (for spillback).
#pragma once

#include <functional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "src/common/id.h"
#include "src/common/resource_set.h"
#include "src/gcs/gcs_handler.h"
#include "src/gcs/gcs_node_manager.h"
#include "src/gcs/publisher.h"

namespace orrery::gcs {

// Owned and called by the GCS event loop only.
class GcsResourceManager final : public ResourceHandler {
 public:
  GcsResourceManager(GcsNodeManager& nodes, Publisher& publisher, ClusterId cluster_id, int64_t start_time_ms);

  void HandleReportResourceUsage(const rpc::ReportResourceUsageRequest& request, rpc::ReportResourceUsageReply* reply,
                                 ReplyCallback done) override;
  void HandleGetClusterStatus(const rpc::GetClusterStatusRequest& request, rpc::GetClusterStatusReply* reply,
                              ReplyCallback done) override;

  // The GCS's metrics port, which GetClusterStatus reports (0: none). Set on the loop.
  void set_metrics_port(int port) { metrics_port_ = port; }
  // The dashboard's port and whether it serves HTTPS, which GetClusterStatus reports too.
  void set_dashboard(int port, bool https) {
    dashboard_port_ = port;
    https_ = https;
  }

  // A dead node leaves the view (raylets drop it on its NODE message).
  void OnNodeDead(const NodeId& node_id) {
    usage_.erase(node_id);
    parsed_.erase(node_id);
  }

  struct NodeResources {
    ResourceSet total;
    ResourceSet available;
    // The number of the last report applied (NodeResourceUsage.report_seq).
    int64_t report_seq = 0;
  };

  // Called after each report applied; `changed`: its total or available differ from the last.
  void AddReportListener(std::function<void(const NodeId&, bool changed)> listener) {
    listeners_.push_back(std::move(listener));
  }
  // Called for each report of an alive node before it is answered, with the reply to fill: what
  // the node trusts goes to the CA (a CA rotation answers with what it must trust).
  using TrustHook =
      std::function<void(const NodeId&, const rpc::NodeTrust&, rpc::ReportResourceUsageReply* reply)>;
  void SetTrustHook(TrustHook hook) { trust_hook_ = std::move(hook); }
  // The last reported total and available of every node that sent a report, parsed.
  const absl::flat_hash_map<NodeId, NodeResources>& parsed() const { return parsed_; }

  // The RESOURCE_VIEW state for a subscriber that must resync: every node's last usage.
  std::vector<rpc::PubsubMessage> Snapshot() const;

 private:
  GcsNodeManager& nodes_;
  Publisher& publisher_;
  const ClusterId cluster_id_;
  const int64_t start_time_ms_;
  int metrics_port_ = 0;
  int dashboard_port_ = 0;
  bool https_ = false;
  absl::flat_hash_map<NodeId, rpc::NodeResourceUsage> usage_;
  absl::flat_hash_map<NodeId, NodeResources> parsed_;
  std::vector<std::function<void(const NodeId&, bool changed)>> listeners_;
  TrustHook trust_hook_;
};

}  // namespace orrery::gcs
