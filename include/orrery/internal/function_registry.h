// The registry of remote functions: ORRERY_REMOTE puts each function here under its name, with
// an invoker that reads its arguments from the wire and writes its result back. One registry per
// process, in liborrery, so a program and the libraries it loads share it.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "orrery/errors.h"
#include "orrery/export.h"
#include "orrery/internal/serialization.h"

namespace orrery::internal {

using Invoker = std::function<SerializedValue(const std::vector<std::shared_ptr<const SerializedValue>>& args)>;

using Args = std::vector<std::shared_ptr<const SerializedValue>>;
// Runs an actor factory; returns the instance (the T* the factory made).
using ActorCreator = std::function<void*(const Args& args)>;
// Calls a method on an instance (the T* a factory made).
using MethodInvoker = std::function<SerializedValue(void* instance, const Args& args)>;

enum class FunctionKind { kFunction, kActorFactory, kActorMethod };

struct RemoteFunction {
  std::string name;
  uint64_t signature_hash = 0;
  size_t arity = 0;
  FunctionKind kind = FunctionKind::kFunction;
  Invoker invoke;               // kFunction
  ActorCreator create;          // kActorFactory
  MethodInvoker invoke_method;  // kActorMethod
};

class ORRERY_EXPORT FunctionRegistry {
 public:
  static FunctionRegistry& Instance();

  // Registers `function` under its name, `key` identifying the function pointer. The same
  // function under the same name again is a no-op (a header included twice); anything else
  // under a taken name, or the same function under a second name, throws OrreryException.
  void Register(RemoteFunction function, const std::string& key);
  const RemoteFunction* Find(const std::string& name) const;
  const RemoteFunction* FindByKey(const std::string& key) const;
  std::vector<std::string> Names() const;

 private:
  FunctionRegistry() = default;
  struct State;
  State& state() const;
};

template <typename R, typename... Params>
struct Signature;

// A member function pointer's parts; undefined for anything else.
template <typename R, typename C, typename... Params>
struct MethodSignature {
  using Result = R;
  using Class = C;
  using Sig = Signature<R, Params...>;
  static constexpr size_t kArity = sizeof...(Params);
  // Apply<Params...>: the template applied to the method's parameter types.
  template <template <typename...> class Apply>
  using WithParams = Apply<Params...>;
};
template <typename M>
struct MethodTraits;
template <typename R, typename C, typename... Params>
struct MethodTraits<R (C::*)(Params...)> : MethodSignature<R, C, Params...> {};
template <typename R, typename C, typename... Params>
struct MethodTraits<R (C::*)(Params...) const> : MethodSignature<R, C, Params...> {};
template <typename R, typename C, typename... Params>
struct MethodTraits<R (C::*)(Params...) noexcept> : MethodSignature<R, C, Params...> {};
template <typename R, typename C, typename... Params>
struct MethodTraits<R (C::*)(Params...) const noexcept> : MethodSignature<R, C, Params...> {};

// What Task(f), Actor(f) and handle.Task(&C::m) look a function up by: the bytes of the
// pointer, and for a member function its class's type name first (two classes' virtual member
// pointers hold the same bytes, a vtable offset).
template <typename F>
std::string KeyOf(F function) {
  std::string key;
  if constexpr (std::is_member_function_pointer_v<F>) key = typeid(typename MethodTraits<F>::Class).name();
  const size_t prefix = key.size();
  key.resize(prefix + sizeof(F));
  std::memcpy(key.data() + prefix, &function, sizeof(F));
  return key;
}

// Arguments that cannot be read: wrong count, or a value that is not of the parameter's type.
class ArgumentError : public OrreryException {
 public:
  using OrreryException::OrreryException;
};

template <typename Param, size_t I>
std::decay_t<Param> ReadArgument(const std::vector<std::shared_ptr<const SerializedValue>>& args,
                                 const std::string& function) {
  try {
    return Deserialize<std::decay_t<Param>>(*args[I]);
  } catch (const std::exception& e) {
    throw ArgumentError("arguments error: argument " + std::to_string(I + 1) + " of " + function +
                        " cannot be read: " + e.what());
  }
}

// How a callable of type R(Params...) is called from the wire: functions, factories and
// methods all read their arguments, and write their results, through here.
template <typename R, typename... Params>
struct Signature {
  static uint64_t Hash() { return HashSignature(typeid(R(std::decay_t<Params>...)).name()); }

  // Reads the arguments (throwing ArgumentError) and calls `call` with them.
  template <typename Call>
  static decltype(auto) Apply(Call&& call, const std::string& name, const Args& args) {
    if (args.size() != sizeof...(Params)) {
      throw ArgumentError("arguments error: " + name + " takes " + std::to_string(sizeof...(Params)) +
                          " arguments, got " + std::to_string(args.size()));
    }
    return ApplyRead(call, name, args, std::index_sequence_for<Params...>{});
  }

  // As Apply, with the result serialized (void: msgpack nil).
  template <typename Call>
  static SerializedValue Invoke(Call&& call, const std::string& name, const Args& args) {
    if constexpr (std::is_void_v<R>) {
      Apply(call, name, args);
      return SerializeVoid();
    } else {
      return Serialize(Apply(call, name, args));
    }
  }

 private:
  template <typename Call, size_t... I>
  static decltype(auto) ApplyRead(Call& call, const std::string& name, const Args& args,
                                  std::index_sequence<I...>) {
    // Braces: the arguments are read in order.
    std::tuple<std::decay_t<Params>...> values{ReadArgument<Params, I>(args, name)...};
    // Each value as its parameter takes it: an lvalue for T& (as Ray passes the deserialized
    // argument), moved for T and T&&.
    return std::invoke(call, std::forward<Params>(std::get<I>(values))...);
  }
};

// A free or static function. One returning a pointer to a class, T*, is an actor factory: the
// pointer it returns is the actor.
template <typename R, typename... Params>
RemoteFunction MakeRemoteFunction(std::string name, R (*f)(Params...)) {
  using Sig = Signature<R, Params...>;
  RemoteFunction function;
  function.name = name;
  function.signature_hash = Sig::Hash();
  function.arity = sizeof...(Params);
  if constexpr (std::is_pointer_v<R> && std::is_class_v<std::remove_pointer_t<R>>) {
    static_assert(!std::is_const_v<std::remove_pointer_t<R>>, "an actor factory must return T*, not const T*");
    function.kind = FunctionKind::kActorFactory;
    function.create = [f, name](const Args& args) -> void* {
      R instance = Sig::Apply(f, name, args);
      if (instance == nullptr) throw OrreryException("actor factory " + name + " returned null");
      return static_cast<void*>(instance);
    };
  } else {
    function.kind = FunctionKind::kFunction;
    function.invoke = [f, name](const Args& args) { return Sig::Invoke(f, name, args); };
  }
  return function;
}

// A member function: an actor method. `instance` is what the actor's factory returned, so a
// method of a base class needs that base at offset 0 of the actor's class (single inheritance).
// Virtual methods dispatch to the actor's override.
template <typename M, typename = std::enable_if_t<std::is_member_function_pointer_v<M>>>
RemoteFunction MakeRemoteFunction(std::string name, M method) {
  using Traits = MethodTraits<M>;
  using Class = typename Traits::Class;
  using Sig = typename Traits::Sig;
  RemoteFunction function;
  function.name = name;
  function.signature_hash = Sig::Hash();
  function.arity = Traits::kArity;
  function.kind = FunctionKind::kActorMethod;
  function.invoke_method = [method, name](void* instance, const Args& args) {
    Class* object = static_cast<Class*>(instance);
    auto call = [object, method](auto&&... values) -> decltype(auto) {
      return (object->*method)(std::forward<decltype(values)>(values)...);
    };
    return Sig::Invoke(call, name, args);
  };
  return function;
}

// Splits "Add, ORRERY_FUNC(Mul, int, int), &Foo" at the commas outside parentheses.
ORRERY_EXPORT std::vector<std::string> SplitRegisteredNames(const char* names);

template <typename... Fs>
bool RegisterRemoteFunctions(const char* names, Fs... functions) {
  std::vector<std::string> split = SplitRegisteredNames(names);
  if (split.size() != sizeof...(Fs)) {
    throw OrreryException(std::string("ORRERY_REMOTE: cannot split the names of ") + names);
  }
  size_t i = 0;
  (FunctionRegistry::Instance().Register(MakeRemoteFunction(split[i++], functions), KeyOf(functions)), ...);
  return true;
}

// ORRERY_FUNC(f, Args...): the overload of `f` (a function, static factory or method) taking
// exactly Args.
template <typename... Args>
struct Overload {
  template <typename R>
  static constexpr auto Of(R (*f)(Args...)) {
    return f;
  }
  template <typename R, typename C>
  static constexpr auto Of(R (C::*f)(Args...)) {
    return f;
  }
  template <typename R, typename C>
  static constexpr auto Of(R (C::*f)(Args...) const) {
    return f;
  }
};

}  // namespace orrery::internal

#define ORRERY_INTERNAL_CONCAT2(a, b) a##b
#define ORRERY_INTERNAL_CONCAT(a, b) ORRERY_INTERNAL_CONCAT2(a, b)
