// Placement groups as the schedulers see them. A bundle reserved on a node adds resources
// named after the group to that node, as Ray does: {CPU: 2} in bundle 1 of group G adds
// "CPU_group_1_<G>" and "CPU_group_<G>" (any bundle of G), each 2, plus the bundle markers
// "bundle_group_1_<G>" and "bundle_group_<G>". A task placed in the bundle asks for the
// renamed resources instead of its own, and a marker share, so the ordinary lease scheduling
// sends it to the bundle's node and bounds it by the bundle's capacity, with no special case.
#pragma once

#include <optional>
#include <string>

#include "src/common/id.h"
#include "src/common/resource_set.h"

namespace orrery {

struct PlacementGroupIdTag { static constexpr const char* kName = "PlacementGroupId"; };
using PlacementGroupId = BaseId<PlacementGroupIdTag, 16>;

// What one bundle marker holds on its node, and what each task in the bundle takes of it: so a
// task that asks for no resources is still placed on the bundle's node.
inline constexpr int64_t kBundleMarkerUnits = 1000;
inline constexpr double kBundleMarkerShare = 0.001;

// "CPU_group_1_<hex>" for bundle 1; "CPU_group_<hex>" for bundle_index -1 (any bundle).
std::string GroupResourceName(const std::string& resource, const PlacementGroupId& group, int bundle_index);

// What a task or actor asking for `demand` asks for instead when placed in bundle
// `bundle_index` (-1: any bundle) of `group`: its resources renamed, and a marker share.
ResourceSet GroupDemand(const ResourceSet& demand, const PlacementGroupId& group, int bundle_index);

// What a node gains when bundle `bundle_index` of `group`, holding `bundle`, is committed there.
ResourceSet CommittedBundleResources(const ResourceSet& bundle, const PlacementGroupId& group, int bundle_index);

// The group whose renamed resource or marker `resource` is, if it is one.
std::optional<PlacementGroupId> GroupOfResource(const std::string& resource);
inline bool IsAnyGroupResource(const std::string& resource) { return GroupOfResource(resource).has_value(); }
// The group whose bundle a demand runs in (its renamed resources name it), if any. `quantities`
// maps resource names to amounts: a ResourceSet's, or a protobuf message's map.
template <typename Quantities>
std::optional<PlacementGroupId> GroupOfDemand(const Quantities& quantities) {
  for (const auto& [name, amount] : quantities) {
    if (std::optional<PlacementGroupId> group = GroupOfResource(name); group.has_value()) return group;
  }
  return std::nullopt;
}
// The resource a group resource was renamed from ("GPU" for "GPU_group_1_<hex>" and
// "GPU_group_<hex>"); any other name is its own.
std::string OriginalResourceOf(const std::string& resource);
// Whether `resource` is one of `group`'s renamed resources or markers.
inline bool IsGroupResource(const std::string& resource, const PlacementGroupId& group) {
  return GroupOfResource(resource) == group;
}

}  // namespace orrery
