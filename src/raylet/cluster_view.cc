#include "src/raylet/cluster_view.h"

#include "src/common/clock.h"

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
  auto [it, added] = nodes_.try_emplace(*id, Node{node, *total, *total});
  if (!added) {
    it->second.info = node;
    it->second.total = *total;
  }
}

void ClusterView::UpdateUsage(const rpc::NodeResourceUsage& usage) {
  auto id = NodeId::FromBinary(usage.node_id());
  if (!id.ok()) return;
  auto it = nodes_.find(*id);
  if (it == nodes_.end()) return;
  auto total = ResourceSet::FromProto(usage.total());
  auto available = ResourceSet::FromProto(usage.available());
  if (!total.ok() || !available.ok()) return;
  it->second.total = *total;
  it->second.available = *available;
  it->second.sent = ResourceSet();
}

void ClusterView::NoteSent(const NodeId& node, const ResourceSet& demand) {
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return;
  int64_t now = MonotonicMs();
  if (now - it->second.sent_at_ms > kSentMemoryMs) it->second.sent = ResourceSet();
  it->second.sent += demand;
  it->second.sent_at_ms = now;
}

std::vector<NodeSnapshot> ClusterView::Snapshots(const NodeId& exclude) const {
  std::vector<NodeSnapshot> snapshots;
  snapshots.reserve(nodes_.size());
  for (const auto& [id, node] : nodes_) {
    if (id == exclude) continue;
    bool sent_is_fresh = MonotonicMs() - node.sent_at_ms <= kSentMemoryMs;
    snapshots.push_back(NodeSnapshot{id, node.total, sent_is_fresh ? node.available - node.sent : node.available});
  }
  return snapshots;
}

bool ClusterView::CouldHold(const NodeId& id, const ResourceSet& demand) const {
  auto it = nodes_.find(id);
  return it != nodes_.end() && demand.IsSubsetOf(it->second.total);
}

const rpc::NodeInfo* ClusterView::Find(const NodeId& id) const {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? nullptr : &it->second.info;
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
