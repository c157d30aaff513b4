// ClusterView: the raylet's picture of the other nodes: who is alive and where (the GCS NODE
// channel), and their total and available resources (the RESOURCE_VIEW channel). It tells a
// request no node can ever hold from one another node could hold, and feeds the scheduling
// policy's choice of a node with room now (spillback).
#pragma once

#include <optional>

#include "absl/container/flat_hash_map.h"
#include "orrery/gcs.pb.h"
#include "src/common/id.h"
#include "src/common/resource_set.h"
#include "src/raylet/scheduling_policy.h"

namespace orrery::raylet {

// Owned and called by the raylet event loop only.
class ClusterView {
 public:
  // Adds, updates or (for a DEAD node) removes a node.
  void Update(const rpc::NodeInfo& node);
  // Drops every node not in `alive` (after a snapshot).
  void Retain(const absl::flat_hash_map<NodeId, bool>& alive);
  // A node's latest total and available resources (ignored for a node not known alive).
  void UpdateUsage(const rpc::NodeResourceUsage& usage);
  // A request for `demand` was sent to `node`: count it as taken there until the node's next
  // usage message or for kSentMemoryMs, whichever comes first, so a burst is not all sent to
  // the same node. (A node whose use went up and back down between two reports publishes
  // nothing, so the count cannot wait for a message alone.)
  void NoteSent(const NodeId& node, const ResourceSet& demand);
  static constexpr int64_t kSentMemoryMs = 500;

  // Every known node other than `exclude`, as the scheduling policy sees them.
  std::vector<NodeSnapshot> Snapshots(const NodeId& exclude) const;
  const rpc::NodeInfo* Find(const NodeId& id) const;
  // Whether node `id`'s total resources could hold `demand` (false for an unknown node).
  bool CouldHold(const NodeId& id, const ResourceSet& demand) const;

  // An alive node other than `exclude` whose total resources could hold `demand`.
  std::optional<rpc::NodeInfo> FeasibleNode(const ResourceSet& demand, const NodeId& exclude) const;

  size_t size() const { return nodes_.size(); }

 private:
  struct Node {
    rpc::NodeInfo info;
    ResourceSet total;
    ResourceSet available;  // the total until the node's first usage report arrives
    ResourceSet sent;       // NoteSent since that report
    int64_t sent_at_ms = 0;
  };
  absl::flat_hash_map<NodeId, Node> nodes_;
};

}  // namespace orrery::raylet
