#include "src/api/runtime_ids.h"

#include "orrery/errors.h"

namespace orrery::api {

ObjectId ToObjectId(const std::string& binary) {
  auto id = ObjectId::FromBinary(binary);
  if (!id.ok()) throw OrreryException("not a valid ObjectRef: " + std::string(id.status().message()));
  return *id;
}

std::vector<ObjectId> ToObjectIds(const std::vector<std::string>& binaries) {
  std::vector<ObjectId> ids;
  ids.reserve(binaries.size());
  for (const std::string& binary : binaries) ids.push_back(ToObjectId(binary));
  return ids;
}

ActorId ToActorId(const std::string& binary) {
  auto id = ActorId::FromBinary(binary);
  if (!id.ok()) throw OrreryException("not a valid ActorHandle: " + std::string(id.status().message()));
  return *id;
}

}  // namespace orrery::api
