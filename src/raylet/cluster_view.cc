#include "src/raylet/cluster_view.h"

namespace orrery::raylet {

void ClusterView::Update(const rpc::NodeInfo& node) {
  auto id = NodeId::FromBinary(node.node_id());
  if (!id.ok()) return;
  if (node.state() == rpc::NodeInfo::DEAD) {
    nodes_.erase(*id);
    return;
  }
  auto total = ResourceSet::FromProto(node.total_resources());
  if (!total.ok()) return;
  nodes_[*id] = Node{node, *total};
}

void ClusterView::Retain(const absl::flat_hash_map<NodeId, bool>& alive) {
  absl::erase_if(nodes_, [&](const auto& entry) { return !alive.contains(entry.first); });
}

std::optional<rpc::NodeInfo> ClusterView::FeasibleNode(const ResourceSet& demand, const NodeId& exclude) const {
  const Node* best = nullptr;
  for (const auto& [id, node] : nodes_) {
    if (id == exclude || !demand.IsSubsetOf(node.total)) continue;
    // Deterministic among equals, so repeated requests go to the same place.
    if (best == nullptr || node.info.node_id() < best->info.node_id()) best = &node;
  }
  if (best == nullptr) return std::nullopt;
  return best->info;
}

}  // namespace orrery::raylet
