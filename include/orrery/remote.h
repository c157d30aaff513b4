/// Remote functions: register them once, call them anywhere in the cluster.
///
///   int Add(int a, int b) { return a + b; }
///   ORRERY_REMOTE(Add);                                   // at namespace scope
///
///   orrery::ObjectRef<int> sum = orrery::Task(Add).Remote(1, 2);
///   auto four = orrery::Task(Add).SetName("add").Remote(sum, 1);   // sum's value is passed
///
/// A function is registered under its source text ("Add", "ORRERY_FUNC(Scale, double)"): the
/// driver and its workers must compile the same text. An ObjectRef<T> passed for a parameter of
/// type T is resolved to its value before the function runs.
#pragma once

#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "orrery/errors.h"
#include "orrery/internal/function_registry.h"
#include "orrery/internal/runtime.h"
#include "orrery/object_ref.h"
#include "orrery/runtime_env.h"

/// Registers remote functions, at namespace scope: ORRERY_REMOTE(Add, Scale, ...). Actor
/// factories (functions returning T*) and methods (&Counter::Add) are registered the same way.
#define ORRERY_REMOTE(...) ORRERY_INTERNAL_REGISTER(#__VA_ARGS__, __VA_ARGS__)
// Registers the functions after `names` under those names (the source text of the list).
#define ORRERY_INTERNAL_REGISTER(names, ...)                                                           \
  static const bool ORRERY_INTERNAL_CONCAT(orrery_remote_registration_, __COUNTER__) [[maybe_unused]] = \
      ::orrery::internal::RegisterRemoteFunctions(names, __VA_ARGS__)

/// Picks one overload of a function, factory or method: ORRERY_FUNC(Scale, double, int),
/// ORRERY_FUNC(Counter::Add, int).
#define ORRERY_FUNC(f, ...) ::orrery::internal::Overload<__VA_ARGS__>::Of(&f)

namespace orrery {

template <typename T>
class ObjectRef;

namespace internal {

template <typename T>
struct IsObjectRef : std::false_type {};
template <typename T>
struct IsObjectRef<ObjectRef<T>> : std::true_type {
  using ValueType = T;
};

// Checks a resource map as Ray does: a non-empty name, a value > 0, whole above 1.
ORRERY_EXPORT void ValidateResources(const std::unordered_map<std::string, double>& resources);
// Throws OrreryException for a retry count below -1.
ORRERY_EXPORT void ValidateMaxRetries(int max_retries);

template <typename Param, typename Arg>
TaskArgument MakeArgument(Arg&& arg) {
  using A = std::decay_t<Arg>;
  using P = std::decay_t<Param>;
  TaskArgument out;
  if constexpr (IsObjectRef<A>::value && !IsObjectRef<P>::value) {
    static_assert(std::is_convertible_v<typename IsObjectRef<A>::ValueType, P>,
                  "an ObjectRef<T> argument must hold the parameter's type");
    out.is_ref = true;
    out.object_id = arg.binary_id();
  } else {
    static_assert(std::is_convertible_v<Arg&&, P>, "argument does not convert to the parameter's type");
    out.value = Serialize(static_cast<P>(std::forward<Arg>(arg)));
  }
  return out;
}

// The arguments of a call to something taking Params, in order (tasks, actor creation and
// actor methods alike). An ObjectRef<T> given for a parameter of type T is passed by reference.
template <typename... Params>
struct ArgumentBuilder {
  template <typename... Args>
  static std::vector<TaskArgument> Build(Args&&... args) {
    static_assert(sizeof...(Args) == sizeof...(Params), "wrong number of arguments for this function");
    std::vector<TaskArgument> out;
    out.reserve(sizeof...(Params));
    (out.push_back(MakeArgument<Params>(std::forward<Args>(args))), ...);
    return out;
  }
};

// The options every remote call takes (a name and resource demands), chainable: each setter
// returns the caller it belongs to (Derived).
template <typename Derived>
class CallOptions {
 public:
  /// Names the call.
  Derived& SetName(std::string name) {
    name_ = std::move(name);
    return self();
  }
  /// Adds one resource demand (the first value set for a name wins, as in Ray).
  Derived& SetResource(const std::string& name, double value) {
    resources_.emplace(name, value);
    return self();
  }
  /// Where the call runs (see scheduling.h); the default is the hybrid policy.
  Derived& SetSchedulingStrategy(SchedulingStrategy strategy) {
    strategy_ = std::move(strategy);
    return self();
  }
  /// Replaces the resource demands set so far with these (as Ray's SetResources does).
  Derived& SetResources(const std::unordered_map<std::string, double>& resources) {
    resources_ = resources;
    return self();
  }

 protected:
  // A call of `function` with these options and no arguments yet.
  TaskCall NewCall(const RemoteFunction& function) const {
    TaskCall call;
    call.function_name = function.name;
    call.signature_hash = function.signature_hash;
    call.name = name_;
    call.resources = resources_;
    call.strategy = strategy_;
    call.placement_group_id = placement_group_id_;
    call.bundle_index = bundle_index_;
    call.env_vars = env_vars_;
    call.max_retries = max_retries_;
    call.retry_exceptions = retry_exceptions_;
    call.retry_exception_types = retry_exception_types_;
    return call;
  }

  // Public in the callers that take it (tasks, actor creation), through `using`.
  /// Runs the call in bundle `bundle_index` of `group` (-1: in any of its bundles), on that
  /// bundle's node and within its resources. Throws OrreryException for an empty group or a
  /// bundle index it does not have.
  Derived& SetPlacementGroup(const PlacementGroup& group, int bundle_index = -1) {
    ValidateBundleIndex(group, bundle_index);
    placement_group_id_ = group.hex_id();
    bundle_index_ = bundle_index;
    return self();
  }
  /// Runs the call in a worker with these environment variables on top of the job's (see
  /// runtime_env.h). Throws OrreryException for a variable the runtime owns.
  Derived& SetRuntimeEnv(const RuntimeEnv& env) {
    ValidateRuntimeEnv(env);
    env_vars_ = env.env_vars;
    return self();
  }

  /// Retries after a system failure: its worker or node died, or the node's memory monitor
  /// killed it. -1: forever; 0: never. The default: 3 for a task, the actor's
  /// SetMaxTaskRetries for an actor call. Throws OrreryException below -1.
  Derived& SetMaxRetries(int max_retries) {
    ValidateMaxRetries(max_retries);
    max_retries_ = max_retries;
    return self();
  }
  /// Retries a task that threw too, within its SetMaxRetries: any exception (true), or none
  /// (false, the default). (A template on bool only, so that SetRetryExceptions({"T"}) takes
  /// the list below rather than a pointer turned bool.)
  template <typename Bool, typename = std::enable_if_t<std::is_same_v<Bool, bool>>>
  Derived& SetRetryExceptions(Bool retry) {
    retry_exceptions_ = retry;
    retry_exception_types_.clear();
    return self();
  }
  /// Retries a task that threw an exception of one of these types, within its SetMaxRetries.
  /// A type is named as the runtime demangles it ("std::runtime_error", "my_ns::Timeout"), and
  /// only that exact type matches (not its subclasses). An empty list retries none.
  Derived& SetRetryExceptions(std::vector<std::string> exception_types) {
    retry_exceptions_ = !exception_types.empty();
    retry_exception_types_ = std::move(exception_types);
    return self();
  }

  std::string name_;
  std::unordered_map<std::string, double> resources_;
  SchedulingStrategy strategy_;
  std::string placement_group_id_;
  int bundle_index_ = -1;
  std::map<std::string, std::string> env_vars_;
  std::optional<int> max_retries_;
  bool retry_exceptions_ = false;
  std::vector<std::string> retry_exception_types_;

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
};

// The registered function, factory or method `function` (of that kind), or
// FunctionNotFoundError at once.
template <typename F>
const RemoteFunction& FindRegistered(F function, FunctionKind kind) {
  const RemoteFunction* registered = FunctionRegistry::Instance().FindByKey(KeyOf(function));
  if (registered != nullptr && registered->kind == kind) return *registered;
  std::string message =
      "Function not found. Please use ORRERY_REMOTE (RAY_REMOTE in ray_compat) to register this function.";
  if (registered != nullptr) {
    static constexpr const char* kKinds[] = {"a remote function", "an actor factory", "an actor method"};
    message += " (" + registered->name + " is registered as " + kKinds[static_cast<int>(registered->kind)] + ")";
  }
  throw FunctionNotFoundError(message, registered == nullptr ? "" : registered->name);
}

}  // namespace internal

template <typename F>
class TaskCaller;

/// What Task(f) returns: options (SetName, SetResource, SetResources, SetSchedulingStrategy,
/// SetPlacementGroup, SetRuntimeEnv, SetMaxRetries, SetRetryExceptions), then Remote(args...).
template <typename R, typename... Params>
class TaskCaller<R (*)(Params...)> : public internal::CallOptions<TaskCaller<R (*)(Params...)>> {
 public:
  using Result = R;
  using internal::CallOptions<TaskCaller<R (*)(Params...)>>::SetPlacementGroup;
  using internal::CallOptions<TaskCaller<R (*)(Params...)>>::SetRuntimeEnv;
  using internal::CallOptions<TaskCaller<R (*)(Params...)>>::SetMaxRetries;
  using internal::CallOptions<TaskCaller<R (*)(Params...)>>::SetRetryExceptions;

  explicit TaskCaller(const internal::RemoteFunction* function) : function_(function) {}

  /// Submits the call and returns at once. Without resources set, the task holds {CPU: 1}.
  template <typename... Args>
  ObjectRef<R> Remote(Args&&... args) {
    static_assert(sizeof...(Args) == sizeof...(Params), "wrong number of arguments for this function");
    internal::ValidateResources(this->resources_);
    internal::TaskCall call = this->NewCall(*function_);
    call.args = internal::ArgumentBuilder<Params...>::Build(std::forward<Args>(args)...);
    std::string id = internal::RequireRuntime().Submit(std::move(call));
    return ObjectRef<R>(internal::AdoptTag{}, std::move(id));
  }

 private:
  const internal::RemoteFunction* function_;
};

/// A caller for a registered remote function; throws FunctionNotFoundError at once for a
/// function never registered with ORRERY_REMOTE.
template <typename R, typename... Params>
TaskCaller<R (*)(Params...)> Task(R (*function)(Params...)) {
  return TaskCaller<R (*)(Params...)>(&internal::FindRegistered(function, internal::FunctionKind::kFunction));
}

/// An actor method is called through its actor's handle: handle.Task(&Counter::Add).
template <typename M, typename = std::enable_if_t<std::is_member_function_pointer_v<M>>>
void Task(M) {
  static_assert(!std::is_member_function_pointer_v<M>,
                "orrery::Task takes a free or static function; call an actor method with handle.Task(&Class::Method)");
}

}  // namespace orrery
