// Stored errors become the public exception types here, and nowhere else.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "orrery/core_worker.pb.h"
#include "src/common/id.h"
#include "src/core_worker/memory_store.h"

namespace orrery::api {

// Throws the exception `error` stands for (see include/orrery/errors.h and docs/errors.md).
[[noreturn]] void ThrowStoredError(const rpc::ErrorInfo& error);

// What Get raises for the `values` of objects `ids` (null where not ready within `timeout_ms`):
// GetTimeoutError, or the error the first failed one stores. Nothing when all are values.
void RaiseGetErrors(const std::vector<ObjectId>& ids, const std::vector<core::Value>& values, int64_t timeout_ms);

// What CreateActor raises when the runtime refused the actor (`name` may be empty).
[[noreturn]] void ThrowActorCreationError(const std::string& name, const absl::Status& status);

}  // namespace orrery::api
