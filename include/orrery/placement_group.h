/// Placement groups: reserve bundles of resources across the cluster as one unit, then place
/// tasks and actors in them (Ray's API, with Ray's names and enum values).
///
///   orrery::PlacementGroupCreationOptions options{
///       "trainers", {{{"CPU", 1}}, {{"CPU", 1}}}, orrery::PlacementStrategy::STRICT_SPREAD};
///   orrery::PlacementGroup group = orrery::CreatePlacementGroup(options);   // returns at once
///   if (!group.Wait(30)) throw std::runtime_error("no room for the trainers");
///   auto trainer = orrery::Actor(Trainer::Create).SetPlacementGroup(group, 0).Remote();
///   ...
///   orrery::RemovePlacementGroup(group.GetID());   // ends what runs in it; idempotent
///
/// Each bundle is reserved on one node; the group is CREATED once every bundle is, all at once
/// (a group is never half placed). A task or actor placed in a bundle runs on that bundle's
/// node and is bounded by the bundle's resources: one asking for more stays pending.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "orrery/export.h"
#include "orrery/internal/id_text.h"

namespace orrery {

enum class PlacementStrategy {
  /// Bundles on as few nodes as possible.
  PACK = 0,
  /// Bundles on as many nodes as possible.
  SPREAD = 1,
  /// Every bundle on one node; the group waits until one node has room for all.
  STRICT_PACK = 2,
  /// Every bundle on a node of its own; the group waits until enough nodes have room.
  STRICT_SPREAD = 3,
  UNRECOGNIZED = -1
};

// Unscoped, as Ray's: PlacementGroupState::CREATED and (in ray_compat) ray::CREATED both name a
// state, and a state converts to int.
enum PlacementGroupState {
  /// Waiting for room.
  PENDING = 0,
  /// Every bundle reserved: tasks and actors placed in it run.
  CREATED = 1,
  /// Removed: its bundles are released and what ran in them ended.
  REMOVED = 2,
  /// A node holding some of its bundles died; they are being placed again.
  RESCHEDULING = 3,
  /// Every bundle set aside on its node, not yet committed (Orrery's; Ray's C++ API has no
  /// such state).
  PREPARED = 4,
  UNRECOGNIZED = -1
};

struct PlacementGroupCreationOptions {
  /// Unique among the live groups of the job's namespace; empty: unnamed.
  std::string name;
  /// What each bundle holds: {{"CPU", 1}, {"GPU", 1}}. At least one bundle, none empty.
  std::vector<std::unordered_map<std::string, double>> bundles;
  PlacementStrategy strategy = PlacementStrategy::PACK;
  /// Orrery extension: the group outlives its job (Ray Python's lifetime="detached").
  bool detached = false;
};

class ORRERY_EXPORT PlacementGroup {
 public:
  /// An empty group (Empty() is true), as GetPlacementGroup gives for an unknown name.
  PlacementGroup() = default;
  /// A group as the runtime describes it: `hex_id` in hex.
  PlacementGroup(std::string hex_id, PlacementGroupCreationOptions options,
                 PlacementGroupState state = PlacementGroupState::PENDING)
      : id_(std::move(hex_id)), options_(std::move(options)), state_(state) {}

  /// The id: in hex as the CLI prints it (its bytes in a program built against <ray/api.h>, as
  /// Ray's). RemovePlacementGroup and GetPlacementGroupById take either form.
  std::string GetID() const { return internal::GroupIdText(id_); }
  /// The id in hex, whatever the program's form: as the runtime and its messages name it.
  const std::string& hex_id() const { return id_; }
  const std::string& GetName() const { return options_.name; }
  const std::vector<std::unordered_map<std::string, double>>& GetBundles() const { return options_.bundles; }
  /// The state when this object was made (CreatePlacementGroup, Get...): ask again with
  /// GetPlacementGroupById for the current one.
  PlacementGroupState GetState() const { return state_; }
  PlacementStrategy GetStrategy() const { return options_.strategy; }
  bool Empty() const { return id_.empty(); }

  /// Waits up to `timeout_seconds` for the group to be CREATED: true if it is, false on
  /// timeout. Throws OrreryException for a group the cluster does not know, or one removed.
  bool Wait(int timeout_seconds) const;

 private:
  std::string id_;
  PlacementGroupCreationOptions options_;
  PlacementGroupState state_ = PlacementGroupState::UNRECOGNIZED;
};

/// Starts creating a group and returns at once (Wait for it). Throws OrreryException for a
/// name already taken in the namespace, no bundles, an empty bundle, or invalid resources.
ORRERY_EXPORT PlacementGroup CreatePlacementGroup(const PlacementGroupCreationOptions& options);
/// Removes the group: its bundles are released, and the tasks and actors in them end.
/// Removing a removed group does nothing; an unknown id throws OrreryException. A group this
/// process created is removed without waiting for the GCS; every later call here sees it removed.
ORRERY_EXPORT void RemovePlacementGroup(const std::string& placement_group_id);
/// The group with this id (hex), with its current state; throws OrreryException if unknown.
ORRERY_EXPORT PlacementGroup GetPlacementGroupById(const std::string& placement_group_id);
/// The live group with this name in the job's namespace, or an empty group.
ORRERY_EXPORT PlacementGroup GetPlacementGroup(const std::string& name);
/// Every group the cluster knows, removed ones included, oldest first.
ORRERY_EXPORT std::vector<PlacementGroup> GetAllPlacementGroups();

namespace internal {
// Checks that `bundle_index` names a bundle of `group` (or is -1: any bundle).
ORRERY_EXPORT void ValidateBundleIndex(const PlacementGroup& group, int bundle_index);
}  // namespace internal

}  // namespace orrery
