#include "src/api/cluster_runtime.h"

#include <algorithm>

#include "orrery/errors.h"
#include "src/api/errors.h"
#include "src/api/runtime_ids.h"
#include "src/core_worker/object_conversion.h"
#include "src/core_worker/shared_memory_objects.h"

namespace orrery::api {

void ClusterRuntime::AddLocalRef(const std::string& object_id) {
  if (auto id = ObjectId::FromBinary(object_id); id.ok()) core_.AddLocalRef(*id);
}

void ClusterRuntime::RemoveLocalRef(const std::string& object_id) {
  if (auto id = ObjectId::FromBinary(object_id); id.ok()) core_.RemoveLocalRef(*id);
}

std::string ClusterRuntime::Put(internal::SerializedValue value) {
  absl::StatusOr<ObjectId> id = core_.Put(std::move(value));
  if (!id.ok()) ThrowStoredError(core::SharedMemoryObjects::ToErrorInfo(id.status()));
  return id->Binary();
}

std::vector<std::shared_ptr<const internal::SerializedValue>> ClusterRuntime::Get(
    const std::vector<std::string>& object_ids, int64_t timeout_ms) {
  std::vector<ObjectId> ids = ToObjectIds(object_ids);
  std::vector<core::Value> values = core_.Get(ids, timeout_ms);
  RaiseGetErrors(ids, values, timeout_ms);
  return values;
}

std::vector<bool> ClusterRuntime::Wait(const std::vector<std::string>& object_ids, int num_objects,
                                       int64_t timeout_ms) {
  return core_.Wait(ToObjectIds(object_ids), num_objects, timeout_ms);
}

std::string ClusterRuntime::Submit(internal::TaskCall call) {
  absl::StatusOr<ObjectId> id = core_.Submit(std::move(call));
  if (!id.ok()) ThrowStoredError(core::SharedMemoryObjects::ToErrorInfo(id.status()));
  return id->Binary();
}

internal::ActorHandleIds ClusterRuntime::CreateActor(internal::ActorCreation creation) {
  std::string name = creation.name;
  absl::StatusOr<internal::ActorHandleIds> ids = core_.CreateActor(std::move(creation));
  if (ids.ok()) return *ids;
  // A large argument the object store could not take fails as a Put would.
  absl::StatusCode code = ids.status().code();
  if (code == absl::StatusCode::kResourceExhausted || code == absl::StatusCode::kOutOfRange) {
    ThrowStoredError(core::SharedMemoryObjects::ToErrorInfo(ids.status()));
  }
  ThrowActorCreationError(name, ids.status());
}

std::string ClusterRuntime::SubmitActorTask(const std::string& actor_id, internal::TaskCall call) {
  absl::StatusOr<ObjectId> id = core_.SubmitActorTask(ToActorId(actor_id), std::move(call));
  if (!id.ok()) ThrowStoredError(core::SharedMemoryObjects::ToErrorInfo(id.status()));
  return id->Binary();
}

void ClusterRuntime::KillActor(const std::string& actor_id, bool no_restart) {
  absl::Status status = core_.KillActor(ToActorId(actor_id), no_restart);
  if (!status.ok()) throw OrreryException("killing actor " + ToActorId(actor_id).Hex() + ": " + std::string(status.message()));
}

std::string ClusterRuntime::GetNamedActor(const std::string& name, const std::string& name_space) {
  auto id = core_.GetNamedActor(name, name_space);
  if (!id.ok()) throw OrreryException("looking up actor '" + name + "': " + std::string(id.status().message()));
  return id->has_value() ? (*id)->Binary() : std::string();
}

std::string ClusterRuntime::Namespace() { return core_.Namespace(); }

std::string ClusterRuntime::NodeIdHex() { return core_.options().node_id.Hex(); }

std::vector<std::string> ClusterRuntime::AliveNodeIds() {
  auto nodes = core_.AliveNodes();
  if (!nodes.ok()) throw OrreryException("listing the cluster's nodes: " + std::string(nodes.status().message()));
  std::vector<std::string> ids;
  for (const NodeId& node : *nodes) ids.push_back(node.Hex());
  std::sort(ids.begin(), ids.end());
  return ids;
}

int ClusterRuntime::CurrentActorRestarts() { return core_.CurrentActorRestarts(); }

std::string ClusterRuntime::OwnerOf(const std::string& object_id) {
  return core::OwnerBytes(core_.OwnerOf(ToObjectId(object_id)));
}

void ClusterRuntime::Borrow(const internal::RefInfo& ref) {
  rpc::WorkerAddress owner;
  if (!core::ParseOwner(ref.owner, &owner)) throw OrreryException("an ObjectRef inside a value has no valid owner");
  core_.Borrow(ToObjectId(ref.object_id), owner);
}

}  // namespace orrery::api
