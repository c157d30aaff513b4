// Stored errors become the public exception types here, and nowhere else.
#pragma once

#include "orrery/core_worker.pb.h"

namespace orrery::api {

// Throws the exception `error` stands for (see include/orrery/errors.h and docs/errors.md).
[[noreturn]] void ThrowStoredError(const rpc::ErrorInfo& error);

}  // namespace orrery::api
