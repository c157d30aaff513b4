// Where the bundles of a placement group go, by its strategy: pure functions over a snapshot
// of the nodes' free resources, so they are tested on fake clusters.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "orrery/placement_group.pb.h"
#include "src/common/id.h"
#include "src/common/resource_set.h"

namespace orrery::gcs {

struct NodeRoom {
  NodeId id;
  ResourceSet total;
  ResourceSet available;
};

// A node for every bundle. `placed[i]` is bundle i's node when it is already reserved (a group
// being rescheduled keeps its surviving bundles where they are), nil when it must be placed.
//   PACK: as few nodes as possible: a node the group already uses while it has room, else the
//     least used node with room.
//   SPREAD: a node the group does not use yet when one has room, else the least used.
//   STRICT_PACK: all on one node (the one already holding some, if any).
//   STRICT_SPREAD: each on a node of its own.
// ResourceExhausted naming what did not fit when the nodes cannot take them now;
// FailedPrecondition when no node could ever take them (the group waits for a new node).
absl::StatusOr<std::vector<NodeId>> PlaceBundles(const std::vector<ResourceSet>& bundles,
                                                 const std::vector<NodeId>& placed,
                                                 rpc::PlacementStrategy strategy, std::vector<NodeRoom> nodes);

}  // namespace orrery::gcs
