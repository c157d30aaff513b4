// Between the public envelope (internal::SerializedValue) and the wire (rpc::SerializedObject),
// and stored errors (rpc::ErrorInfo inside an ERROR value).
#pragma once

#include <memory>

#include "orrery/core_worker.pb.h"
#include "orrery/internal/serialized_value.h"
#include "src/common/id.h"

namespace orrery::core {

// Moves the payload (no copy) out of `object`.
std::shared_ptr<const internal::SerializedValue> FromWire(rpc::SerializedObject&& object);
void ToWire(const internal::SerializedValue& value, rpc::SerializedObject* object);

// A value that is an error; Get raises it.
std::shared_ptr<const internal::SerializedValue> ErrorValue(const rpc::ErrorInfo& error);
// The error a value holds, if it is one.
bool IsError(const internal::SerializedValue& value, rpc::ErrorInfo* error);
// What Get of an object no ref to which reached this process gives: it is lost.
rpc::ErrorInfo UnknownObjectError(const ObjectId& id);

// A ref's owner travels inside values as the bytes of its WorkerAddress.
std::string OwnerBytes(const rpc::WorkerAddress& owner);
bool ParseOwner(const std::string& bytes, rpc::WorkerAddress* owner);

}  // namespace orrery::core
