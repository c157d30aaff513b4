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

struct RemoteFunction {
  std::string name;
  uint64_t signature_hash = 0;
  size_t arity = 0;
  Invoker invoke;
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

// The bytes of a function pointer: what Task(f) looks a function up by.
template <typename F>
std::string KeyOf(F function) {
  std::string key(sizeof(F), '\0');
  std::memcpy(key.data(), &function, sizeof(F));
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

template <typename R, typename... Params, size_t... I>
SerializedValue InvokeWith(R (*f)(Params...), const std::string& name,
                           const std::vector<std::shared_ptr<const SerializedValue>>& args,
                           std::index_sequence<I...>) {
  std::tuple<std::decay_t<Params>...> values{ReadArgument<Params, I>(args, name)...};
  if constexpr (std::is_void_v<R>) {
    std::apply(f, std::move(values));
    return SerializeVoid();
  } else {
    return Serialize(std::apply(f, std::move(values)));
  }
}

template <typename R, typename... Params>
RemoteFunction MakeRemoteFunction(std::string name, R (*f)(Params...)) {
  RemoteFunction function;
  function.name = name;
  function.signature_hash = HashSignature(typeid(R(std::decay_t<Params>...)).name());
  function.arity = sizeof...(Params);
  function.invoke = [f, name](const std::vector<std::shared_ptr<const SerializedValue>>& args) {
    if (args.size() != sizeof...(Params)) {
      throw ArgumentError("arguments error: " + name + " takes " + std::to_string(sizeof...(Params)) +
                          " arguments, got " + std::to_string(args.size()));
    }
    return InvokeWith(f, name, args, std::index_sequence_for<Params...>{});
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

// ORRERY_FUNC(f, Args...): the overload of `f` taking exactly Args.
template <typename... Args>
struct Overload {
  template <typename R>
  static constexpr auto Of(R (*f)(Args...)) {
    return f;
  }
};

}  // namespace orrery::internal

#define ORRERY_INTERNAL_CONCAT2(a, b) a##b
#define ORRERY_INTERNAL_CONCAT(a, b) ORRERY_INTERNAL_CONCAT2(a, b)
