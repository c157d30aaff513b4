#include "src/core_worker/object_conversion.h"

#include "absl/strings/str_cat.h"

namespace orrery::core {

std::shared_ptr<const internal::SerializedValue> FromWire(rpc::SerializedObject&& object) {
  auto value = std::make_shared<internal::SerializedValue>();
  switch (object.format()) {
    case rpc::SerializedObject::RAW:
      value->format = internal::Format::kRaw;
      break;
    case rpc::SerializedObject::ERROR:
      value->format = internal::Format::kError;
      break;
    case rpc::SerializedObject::IN_STORE:
      value->format = internal::Format::kInStore;
      break;
    default:
      value->format = internal::Format::kMsgpack;
      break;
  }
  value->payload.swap(*object.mutable_payload());
  value->contained_refs.reserve(object.contained_refs_size());
  for (auto& ref : *object.mutable_contained_refs()) {
    value->contained_refs.push_back(internal::RefInfo{std::move(*ref.mutable_object_id()), OwnerBytes(ref.owner())});
  }
  return value;
}

void ToWire(const internal::SerializedValue& value, rpc::SerializedObject* object) {
  switch (value.format) {
    case internal::Format::kRaw:
      object->set_format(rpc::SerializedObject::RAW);
      break;
    case internal::Format::kError:
      object->set_format(rpc::SerializedObject::ERROR);
      break;
    case internal::Format::kMsgpack:
      object->set_format(rpc::SerializedObject::MSGPACK);
      break;
    case internal::Format::kInStore:
      object->set_format(rpc::SerializedObject::IN_STORE);
      break;
  }
  object->set_payload(value.data(), value.size());
  for (const auto& ref : value.contained_refs) {
    rpc::ObjectRefInfo* info = object->add_contained_refs();
    info->set_object_id(ref.object_id);
    ParseOwner(ref.owner, info->mutable_owner());
  }
}

std::shared_ptr<const internal::SerializedValue> ErrorValue(const rpc::ErrorInfo& error) {
  auto value = std::make_shared<internal::SerializedValue>();
  value->format = internal::Format::kError;
  value->payload = error.SerializeAsString();
  return value;
}

bool IsError(const internal::SerializedValue& value, rpc::ErrorInfo* error) {
  if (value.format != internal::Format::kError) return false;
  if (error != nullptr && !error->ParseFromString(value.payload)) {
    error->Clear();
    error->set_type(rpc::ErrorInfo::OBJECT_LOST);
    error->set_message("a stored error could not be read");
  }
  return true;
}

std::string OwnerBytes(const rpc::WorkerAddress& owner) { return owner.SerializeAsString(); }

bool ParseOwner(const std::string& bytes, rpc::WorkerAddress* owner) { return owner->ParseFromString(bytes); }

rpc::ErrorInfo UnknownObjectError(const ObjectId& id) {
  rpc::ErrorInfo error;
  error.set_type(rpc::ErrorInfo::OBJECT_LOST);
  error.set_message(absl::StrCat("object ", id.Hex(), " is unknown to this process: no ObjectRef to it was received here"));
  return error;
}

}  // namespace orrery::core
