// LocalNode: local mode's one node: its resources (the machine's, or what Config.head_args
// says) and the placement groups reserved on it. A group is CREATED at once when its bundles
// fit in what other groups left (and STRICT_SPREAD asks for one node per bundle: more than one
// bundle never fits), else PENDING until a removal makes room. Bundles add their renamed
// resources to the node as a raylet's do (src/common/placement_group.h), so whether a task or
// actor in a bundle can ever run is the same subset test as anywhere.
// Threads: any; one mutex. Errors throw OrreryException, as the Runtime's placement-group
// calls do.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "orrery/placement_group.h"
#include "src/common/id.h"
#include "src/common/placement_group.h"
#include "src/common/resource_set.h"

namespace orrery::api {

class LocalNode {
 public:
  // `on_change`: groups were created or removed (waiting work may run now); called outside the lock.
  LocalNode(NodeId id, ResourceSet resources, std::function<void()> on_change);

  const NodeId& id() const { return id_; }
  // Whether work demanding `demand` (renamed for its group: DemandInGroup) can ever run here.
  bool CanHold(const ResourceSet& demand) const;

  PlacementGroup Create(const PlacementGroupCreationOptions& options);
  // Idempotent for a removed group; OrreryException for an unknown one.
  void Remove(const std::string& id_hex);
  bool WaitReady(const std::string& id_hex, int64_t timeout_ms);
  PlacementGroup Find(const std::string& id_or_name, bool by_name) const;
  std::vector<PlacementGroup> All() const;
  bool IsRemoved(const PlacementGroupId& id) const;
  // Wakes every WaitReady.
  void Stop();

 private:
  struct Group {
    PlacementGroupId id;
    PlacementGroupCreationOptions options;
    std::vector<ResourceSet> bundles;
    PlacementGroupState state = PlacementGroupState::PENDING;
  };

  // Creates pending groups that fit now, oldest first; whether any was.
  bool PlaceLocked();
  bool FitsLocked(const Group& group) const;
  const Group* FindLocked(const std::string& id_or_name, bool by_name) const;
  static PlacementGroup Public(const Group& group);

  const NodeId id_;
  const ResourceSet resources_;
  const std::function<void()> on_change_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::vector<Group> groups_;  // oldest first
  // The node's resources held by created groups, and what their bundles add (renamed).
  ResourceSet reserved_;
  ResourceSet committed_;
  bool stopped_ = false;
};

}  // namespace orrery::api
