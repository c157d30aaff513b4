#include "orrery/internal/function_registry.h"

#include <map>
#include <mutex>

namespace orrery::internal {

struct FunctionRegistry::State {
  mutable std::mutex mu;
  std::map<std::string, RemoteFunction> by_name;
  std::map<std::string, std::string> name_by_key;
};

FunctionRegistry& FunctionRegistry::Instance() {
  static FunctionRegistry* registry = new FunctionRegistry();
  return *registry;
}

FunctionRegistry::State& FunctionRegistry::state() const {
  // Never destroyed: static registrations in loaded libraries may outlive any destructor order.
  static State* state = new State();
  return *state;
}

void FunctionRegistry::Register(RemoteFunction function, const std::string& key) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  auto by_key = s.name_by_key.find(key);
  auto by_name = s.by_name.find(function.name);
  if (by_key != s.name_by_key.end() && by_key->second == function.name) return;  // the same, again
  if (by_name != s.by_name.end()) {
    throw OrreryException("a remote function is already registered as " + function.name);
  }
  if (by_key != s.name_by_key.end()) {
    throw OrreryException("function " + function.name + " is already registered as " + by_key->second);
  }
  s.name_by_key.emplace(key, function.name);
  std::string name = function.name;
  s.by_name.emplace(std::move(name), std::move(function));
}

const RemoteFunction* FunctionRegistry::Find(const std::string& name) const {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.by_name.find(name);
  return it == s.by_name.end() ? nullptr : &it->second;
}

const RemoteFunction* FunctionRegistry::FindByKey(const std::string& key) const {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  auto name = s.name_by_key.find(key);
  if (name == s.name_by_key.end()) return nullptr;
  auto it = s.by_name.find(name->second);
  return it == s.by_name.end() ? nullptr : &it->second;
}

std::vector<std::string> FunctionRegistry::Names() const {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  std::vector<std::string> names;
  for (const auto& [name, function] : s.by_name) names.push_back(name);
  return names;
}

}  // namespace orrery::internal
