// The binary ids the public templates hand the Runtime, as the runtime's id types; a malformed
// one throws OrreryException (a user may build a ref or handle from any string).
#pragma once

#include <string>
#include <vector>

#include "src/common/id.h"

namespace orrery::api {

ObjectId ToObjectId(const std::string& binary);
std::vector<ObjectId> ToObjectIds(const std::vector<std::string>& binaries);
ActorId ToActorId(const std::string& binary);

}  // namespace orrery::api
