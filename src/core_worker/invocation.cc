#include "src/core_worker/invocation.h"

#include <cxxabi.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "orrery/internal/runtime.h"

namespace orrery::core {

std::string CurrentExceptionTypeName() {
  std::type_info* type = abi::__cxa_current_exception_type();
  if (type == nullptr) return "unknown exception";
  int status = 0;
  char* demangled = abi::__cxa_demangle(type->name(), nullptr, nullptr, &status);
  std::string name = status == 0 && demangled != nullptr ? demangled : type->name();
  std::free(demangled);
  return name;
}

const internal::RemoteFunction* FindRemoteFunction(const std::string& name, uint64_t signature_hash,
                                                   internal::FunctionKind kind, rpc::ErrorInfo* not_found) {
  const internal::RemoteFunction* function = internal::FunctionRegistry::Instance().Find(name);
  if (function != nullptr && function->signature_hash == signature_hash && function->kind == kind) return function;
  not_found->set_type(rpc::ErrorInfo::FUNCTION_NOT_FOUND);
  not_found->set_function(name);
  if (kind == internal::FunctionKind::kActorFactory) {
    not_found->set_message(absl::StrCat("actor factory ", name,
                                        function == nullptr ? " is not registered in the actor's worker"
                                                            : " is registered in the actor's worker with another signature",
                                        " (pid ", getpid(), ")"));
  } else {
    not_found->set_message(absl::StrCat(
        "function ", name,
        function == nullptr ? " is not registered in this worker"
                            : " is registered in this worker with other parameter or return types",
        " (pid ", getpid(), "); ray::internal::RayFunctionNotFound: Executable function not found, the function name ",
        name));
  }
  return nullptr;
}

rpc::ErrorInfo TaskErrorInfo(const std::string& function, const std::string& type, const std::string& what) {
  rpc::ErrorInfo error;
  error.set_type(rpc::ErrorInfo::TASK_ERROR);
  error.set_exception_type(type);
  error.set_function(function);
  error.set_message(absl::StrCat("An exception was thrown while executing function(", function, "): ", type,
                                 what.empty() ? "" : ": ", what));
  return error;
}

rpc::ErrorInfo ActorExitedErrorInfo(const ActorId& actor, const std::string& function, bool in_function) {
  rpc::ErrorInfo error;
  error.set_type(rpc::ErrorInfo::ACTOR_DIED);
  error.set_function(function);
  error.set_message(absl::StrCat("ray::internal::RayActorException: actor ", actor.Hex(),
                                 " is dead: it exited (orrery::ExitActor)", in_function ? " in " + function : ""));
  return error;
}

Invocation Invoke(const internal::RemoteFunction& function, void* instance, const std::vector<Value>& args,
                  const ActorId& actor) {
  Invocation out;
  try {
    switch (function.kind) {
      case internal::FunctionKind::kFunction:
        out.value = function.invoke(args);
        break;
      case internal::FunctionKind::kActorFactory:
        out.instance = function.create(args);
        break;
      case internal::FunctionKind::kActorMethod:
        out.value = function.invoke_method(instance, args);
        break;
    }
  } catch (const internal::ActorExitSignal&) {
    out.exited = true;
    out.error = ActorExitedErrorInfo(actor, function.name, /*in_function=*/true);
  } catch (const internal::ArgumentError& e) {
    out.error = TaskErrorInfo(function.name, "orrery::ArgumentError", e.what());
  } catch (const std::exception& e) {
    out.error = TaskErrorInfo(function.name, CurrentExceptionTypeName(), e.what());
  } catch (...) {
    out.error = TaskErrorInfo(function.name, CurrentExceptionTypeName(), "");
  }
  return out;
}

}  // namespace orrery::core
