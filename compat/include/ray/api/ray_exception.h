/// Ray's exception names (ray::internal), each an Orrery exception: catching the Ray name
/// catches what Orrery throws for it. docs/errors.md has the table.
#pragma once

#include <string>

#include "orrery/errors.h"

namespace ray {
namespace internal {

using RayException = orrery::OrreryException;
using RayActorException = orrery::ActorDiedError;
using RayTaskException = orrery::TaskError;
using RayWorkerException = orrery::WorkerCrashedError;
using RayTimeoutException = orrery::GetTimeoutError;
using RayFunctionNotFound = orrery::FunctionNotFoundError;
using UnreconstructableException = orrery::ObjectLostError;

/// A RuntimeEnv field that is missing, of the wrong type, bad JSON, or one Orrery cannot apply.
class RayRuntimeEnvException : public orrery::OrreryException {
 public:
  using orrery::OrreryException::OrreryException;
};

}  // namespace internal
}  // namespace ray
