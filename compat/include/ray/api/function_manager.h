/// Ray's ray::internal::FunctionManager, as far as programs use it: registering a function by
/// name at run time, and the class named in a registered name. Orrery's registry
/// (orrery/internal/function_registry.h) does the work.
#pragma once

#include <string>

#include "orrery/remote.h"
#include "ray/api/ray_exception.h"

namespace ray {
namespace internal {

class FunctionManager {
 public:
  static FunctionManager& Instance() {
    static FunctionManager manager;
    return manager;
  }

  /// Registers `function` (a free function or static factory) under `name`, as RAY_REMOTE
  /// would. Throws RayException when `name` is registered already, as Ray's does.
  template <typename F>
  bool RegisterRemoteFunction(const std::string& name, const F& function) {
    if (orrery::internal::FunctionRegistry::Instance().Find(name) != nullptr) {
      throw RayException("Duplicate RAY_REMOTE function: " + name);
    }
    auto pointer = &*function;  // a function reference or pointer: its pointer
    orrery::internal::FunctionRegistry::Instance().Register(orrery::internal::MakeRemoteFunction(name, pointer),
                                                             orrery::internal::KeyOf(pointer));
    return true;
  }

  /// The class a registered name names: "Counter" for "Counter::FactoryCreate",
  /// "&Counter::Add" and "RAY_FUNC(Counter::FactoryCreate, int)"; "" for a free function.
  static std::string GetClassNameByFuncName(std::string func_name) {
    const std::string wrapper = "RAY_FUNC(";
    if (func_name.compare(0, wrapper.size(), wrapper) == 0) {
      func_name = func_name.substr(wrapper.size(), func_name.find_first_of(",)") - wrapper.size());
    }
    size_t start = func_name.find_first_not_of(" &");
    size_t separator = func_name.rfind("::");
    if (start == std::string::npos || separator == std::string::npos || separator <= start) return "";
    return func_name.substr(start, separator - start);
  }

 private:
  FunctionManager() = default;
};

}  // namespace internal
}  // namespace ray
