/// Ray's ray::RuntimeEnv over Orrery: fields set by name, as JSON (nlohmann/json, as in Ray).
/// Orrery's C++ workers act on two fields: "env_vars" (an object of strings; per job, task or
/// actor) and "working_dir" (a local folder; per job only, through RayConfig::runtime_env).
/// Any other field is refused, naming it, when the environment is applied.
#pragma once

#include <map>
#include <string>

#include "nlohmann/json.hpp"
#include "orrery/runtime_env.h"
#include "ray/api/ray_exception.h"

/// As Ray's header declares it, at global scope: programs write to_json(json&, const T&) for
/// the types they Set.
using json = nlohmann::json;

namespace ray {

class RuntimeEnv {
 public:
  template <typename T>
  void Set(const std::string& name, const T& value) {
    try {
      fields_[name] = nlohmann::json(value);
    } catch (const nlohmann::json::exception& e) {
      throw internal::RayRuntimeEnvException("RuntimeEnv: cannot set '" + name + "': " + e.what());
    }
  }
  template <typename T>
  T Get(const std::string& name) const {
    try {
      return Field(name).get<T>();
    } catch (const nlohmann::json::exception& e) {
      throw internal::RayRuntimeEnvException("RuntimeEnv: '" + name + "' has another type: " + e.what());
    }
  }
  void SetJsonStr(const std::string& name, const std::string& json_str) {
    try {
      fields_[name] = nlohmann::json::parse(json_str);
    } catch (const nlohmann::json::exception& e) {
      throw internal::RayRuntimeEnvException("RuntimeEnv: '" + name + "' is not valid JSON: " + e.what());
    }
  }
  std::string GetJsonStr(const std::string& name) const { return Field(name).dump(); }
  bool Contains(const std::string& name) const { return fields_.contains(name); }
  /// Whether the field was there.
  bool Remove(const std::string& name) { return fields_.erase(name) > 0; }
  bool Empty() const { return fields_.empty(); }
  std::string Serialize() const { return fields_.dump(); }
  std::string SerializeToRuntimeEnvInfo() const { return nlohmann::json{{"serialized_runtime_env", Serialize()}}.dump(); }
  static RuntimeEnv Deserialize(const std::string& serialized_runtime_env) {
    RuntimeEnv env;
    try {
      env.fields_ = nlohmann::json::parse(serialized_runtime_env);
    } catch (const nlohmann::json::exception& e) {
      throw internal::RayRuntimeEnvException(std::string("RuntimeEnv: not valid JSON: ") + e.what());
    }
    if (!env.fields_.is_object()) throw internal::RayRuntimeEnvException("RuntimeEnv: not a JSON object");
    return env;
  }

  /// For a task or actor (SetRuntimeEnv): its env_vars. A working_dir belongs to the job.
  operator orrery::RuntimeEnv() const {
    orrery::RuntimeEnv env;
    for (const auto& [name, value] : fields_.items()) {
      if (name == "env_vars") {
        env.env_vars = Get<std::map<std::string, std::string>>("env_vars");
      } else if (name == "working_dir") {
        throw internal::RayRuntimeEnvException(
            "RuntimeEnv: Orrery sets working_dir per job (RayConfig::runtime_env), not per task or actor");
      } else {
        throw internal::RayRuntimeEnvException("RuntimeEnv: Orrery's C++ workers do not apply the field '" + name +
                                               "' (they apply env_vars and, per job, working_dir)");
      }
    }
    return env;
  }

 private:
  const nlohmann::json& Field(const std::string& name) const {
    auto it = fields_.find(name);
    if (it == fields_.end()) throw internal::RayRuntimeEnvException("RuntimeEnv: no field '" + name + "'");
    return *it;
  }

  nlohmann::json fields_ = nlohmann::json::object();
};

}  // namespace ray
