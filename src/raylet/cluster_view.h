// ClusterView: the raylet's picture of the other nodes (from the GCS NODE channel), enough to
// tell a request no node can ever hold from one another node could (spillback).
#pragma once

#include <optional>

#include "absl/container/flat_hash_map.h"
#include "orrery/gcs.pb.h"
#include "src/common/id.h"
#include "src/common/resource_set.h"

namespace orrery::raylet {

// Owned and called by the raylet event loop only.
class ClusterView {
 public:
  // Adds, updates or (for a DEAD node) removes a node.
  void Update(const rpc::NodeInfo& node);
  // Drops every node not in `alive` (after a snapshot).
  void Retain(const absl::flat_hash_map<NodeId, bool>& alive);

  // An alive node other than `exclude` whose total resources could hold `demand`.
  std::optional<rpc::NodeInfo> FeasibleNode(const ResourceSet& demand, const NodeId& exclude) const;

  size_t size() const { return nodes_.size(); }

 private:
  struct Node {
    rpc::NodeInfo info;
    ResourceSet total;
  };
  absl::flat_hash_map<NodeId, Node> nodes_;
};

}  // namespace orrery::raylet
