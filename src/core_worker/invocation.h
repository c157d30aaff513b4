// Calling a registered remote function, factory or method, and turning what it threw into the
// error its result stores. Shared by every runner of user code: a worker's TaskExecutor, and
// the in-process runtime of local mode (src/api/local_runtime.h), so both report the same errors.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "orrery/core_worker.pb.h"
#include "orrery/internal/function_registry.h"
#include "src/common/id.h"
#include "src/core_worker/memory_store.h"

namespace orrery::core {

// What one call gave: a function's or method's value, or a factory's instance, or the error
// to store instead. Never both.
struct Invocation {
  internal::SerializedValue value;
  void* instance = nullptr;
  std::optional<rpc::ErrorInfo> error;
  // The method called orrery::ExitActor(): the actor ends (`error` says so).
  bool exited = false;
};

// The function `name` of `kind`, registered with this signature; null with `*not_found` set
// (FUNCTION_NOT_FOUND, naming it and this pid) when it is missing or registered otherwise.
const internal::RemoteFunction* FindRemoteFunction(const std::string& name, uint64_t signature_hash,
                                                   internal::FunctionKind kind, rpc::ErrorInfo* not_found);

// Calls `function` (of any kind) with `args`; for a method, on `instance` of `actor`. A thrown
// exception becomes a TASK_ERROR naming its type; ExitActor() an ACTOR_DIED error. Never throws.
Invocation Invoke(const internal::RemoteFunction& function, void* instance, const std::vector<Value>& args,
                  const ActorId& actor);

// "An exception was thrown while executing function(<function>): <type>: <what>".
rpc::ErrorInfo TaskErrorInfo(const std::string& function, const std::string& type, const std::string& what);

// The error of a call to an actor that ended itself with ExitActor() (in `function`, when given).
rpc::ErrorInfo ActorExitedErrorInfo(const ActorId& actor, const std::string& function, bool in_function);

// "std::logic_error" for the exception being handled.
std::string CurrentExceptionTypeName();

}  // namespace orrery::core
