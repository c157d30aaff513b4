// The hybrid scheduling policy (Ray's): a raylet keeps work local while its own utilization
// (of the resources the request asks for) is below a threshold, and above it sends a request to the least-utilized node that has room
// now. Pure functions over a snapshot of the cluster, so they are tested on fake clusters.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "src/common/id.h"
#include "src/common/resource_set.h"

namespace orrery::raylet {

struct NodeSnapshot {
  NodeId id;
  ResourceSet total;
  ResourceSet available;
};

// How busy the node is for `demand`: the largest used fraction among the resources the demand
// asks for (0 idle, 1 full), so a node whose GPU or custom resource is taken still counts as
// idle for CPU work. Lent CPUs may push available below zero; that counts as full.
double Utilization(const NodeSnapshot& node, const ResourceSet& demand);

// Where a request for `demand` that `local` could hold should go: `local` while it has room
// and its utilization is below `spread_threshold`; otherwise the least-utilized node (local
// first among equals, then by id) with room now; with no room anywhere, `local` (it queues
// here). `others` excludes `local`.
NodeId PickNode(const ResourceSet& demand, const NodeSnapshot& local, const std::vector<NodeSnapshot>& others,
                double spread_threshold);

// SPREAD: the least-utilized node with room now, local included; among equally utilized ones
// the `turn`-th (mod their number, in id order), so successive requests rotate. With no room
// anywhere, `local`.
NodeId PickSpread(const ResourceSet& demand, const NodeSnapshot& local, const std::vector<NodeSnapshot>& others,
                  uint64_t turn);

}  // namespace orrery::raylet
