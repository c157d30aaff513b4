// The checks every runtime makes of PlacementGroupCreationOptions before creating a group.
#pragma once

#include <string>
#include <vector>

#include "orrery/placement_group.h"
#include "src/common/placement_group.h"
#include "src/common/resource_set.h"

namespace orrery::api {

// The id `hex` names; throws OrreryException when it is not one.
PlacementGroupId GroupIdOfHex(const std::string& hex);

// "creating placement group 'name'": how errors about the group start.
std::string CreatingGroup(const PlacementGroupCreationOptions& options);

// The group's bundles; throws OrreryException for none, an empty one, invalid resources or an
// unknown strategy.
std::vector<ResourceSet> CheckedBundles(const PlacementGroupCreationOptions& options);

}  // namespace orrery::api
