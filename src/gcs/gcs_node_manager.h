// GcsNodeManager: the node table. Registration is idempotent; a node leaves the table's alive
// set by saying goodbye (UnregisterNode) or by missing health checks (MarkNodeDead), and every
// change is published on the NODE channel. A raylet that registers again after a GCS restart
// reports what it hosts; the listeners reconcile the restored tables against that report.
#pragma once

#include <functional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "src/common/id.h"
#include "src/gcs/ended_history.h"
#include "src/gcs/gcs_handler.h"
#include "src/gcs/gcs_table_storage.h"
#include "src/gcs/publisher.h"

namespace orrery::gcs {

// Owned and called by the GCS event loop only.
class GcsNodeManager final : public NodeHandler {
 public:
  using NodeListener = std::function<void(const rpc::NodeInfo&)>;
  using ReportListener = std::function<void(const NodeId&, const rpc::HostedState&)>;

  // `instance_id`: new at every start of the GCS (RegisterNodeReply.gcs_instance_id).
  GcsNodeManager(StoreClient& store, Publisher& publisher, ClusterId cluster_id,
                 std::string instance_id = WorkerId::FromRandom().Binary(), size_t max_dead_nodes = 1000);

  // Restores the table from storage (a restarted GCS); nodes come back as they were.
  void Load(std::function<void(absl::Status)> done);

  void HandleRegisterNode(const rpc::RegisterNodeRequest& request, rpc::RegisterNodeReply* reply,
                          ReplyCallback done) override;
  void HandleUnregisterNode(const rpc::UnregisterNodeRequest& request, rpc::UnregisterNodeReply* reply,
                            ReplyCallback done) override;
  void HandleGetAllNodes(const rpc::GetAllNodesRequest& request, rpc::GetAllNodesReply* reply,
                         ReplyCallback done) override;

  // Marks an alive node DEAD with `reason` and publishes it; no-op for a node not alive.
  void MarkNodeDead(const NodeId& node_id, const std::string& reason);

  void AddNodeAddedListener(NodeListener listener) { added_listeners_.push_back(std::move(listener)); }
  void AddNodeRemovedListener(NodeListener listener) { removed_listeners_.push_back(std::move(listener)); }
  // A raylet registered again and said what it hosts (after the added listeners, for a node
  // this GCS did not know).
  void AddNodeReportListener(ReportListener listener) { report_listeners_.push_back(std::move(listener)); }

  const std::string& instance_id() const { return instance_id_; }

  const rpc::NodeInfo* GetAliveNode(const NodeId& node_id) const;
  std::vector<rpc::NodeInfo> AllNodes() const;
  const absl::flat_hash_map<NodeId, rpc::NodeInfo>& alive_nodes() const { return alive_; }
  // The NODE channel's snapshot: every alive node and the recently dead ones.
  std::vector<rpc::PubsubMessage> Snapshot() const;

 private:
  void Publish(const rpc::NodeInfo& node);
  // A dead node that fell out of the history: gone from memory and storage.
  void Forget(const NodeId& dead);

  GcsTable<rpc::NodeInfo> table_;
  Publisher& publisher_;
  const ClusterId cluster_id_;
  const std::string instance_id_;
  absl::flat_hash_map<NodeId, rpc::NodeInfo> alive_;
  absl::flat_hash_map<NodeId, rpc::NodeInfo> dead_;
  EndedHistory<NodeId> dead_history_;
  std::vector<NodeListener> added_listeners_;
  std::vector<NodeListener> removed_listeners_;
  std::vector<ReportListener> report_listeners_;
};

// Validates what a raylet registers: ids, address, resources. Exposed for tests.
absl::Status ValidateNodeInfo(const rpc::NodeInfo& node);

}  // namespace orrery::gcs
