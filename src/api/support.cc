// The exported helpers the public templates call: bounded msgpack limits, signature
// hashes, the argument checks of Task(), Wait() and resources, the ref collector, and the
// actor functions that are not templates.
#include <cxxabi.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <unordered_set>

#include "orrery/api.h"
#include "src/common/id.h"
#include "src/common/memory.h"

namespace orrery::internal {

RefCollector& CurrentRefCollector() {
  thread_local RefCollector collector;
  return collector;
}

msgpack::unpack_limit LimitsFor(size_t size) {
  // Every element, string byte and map pair takes at least one byte of the payload.
  size_t bound = std::max<size_t>(size, 1);
  return msgpack::unpack_limit(bound, bound, bound, bound, bound, /*depth=*/256);
}

void PrepareToWrite(void* data, size_t size) { PopulateForWrite(data, size); }

void ThrowDeserializeError(const char* type_name, const std::string& why) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(type_name, nullptr, nullptr, &status);
  std::string name = status == 0 && demangled != nullptr ? demangled : type_name;
  std::free(demangled);
  throw OrreryException("cannot deserialize a value of type " + name + ": " + why);
}

uint64_t HashSignature(const char* mangled_type_name) {
  // FNV-1a: stable across processes and builds of the same compiler.
  uint64_t hash = 14695981039346656037ULL;
  for (const char* c = mangled_type_name; *c != '\0'; ++c) {
    hash ^= static_cast<unsigned char>(*c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

void RequireActor(const ActorHandleIds& ids) {
  if (ids.actor_id.empty()) throw OrreryException("the ActorHandle is empty: it refers to no actor");
}

void ValidateWait(const std::vector<std::string>& ids, int num_objects) {
  if (num_objects <= 0) {
    throw OrreryException("Wait: num_objects must be positive, got " + std::to_string(num_objects));
  }
  if (static_cast<size_t>(num_objects) > ids.size()) {
    throw OrreryException("Wait: num_objects (" + std::to_string(num_objects) + ") is more than the " +
                          std::to_string(ids.size()) + " refs given");
  }
  std::unordered_set<std::string> seen;
  for (const std::string& id : ids) {
    if (id.empty()) throw OrreryException("Wait: an empty ObjectRef was given");
    if (!seen.insert(id).second) throw OrreryException("Wait: duplicate ObjectRef " + ObjectId::FromBinary(id).value_or(ObjectId()).Hex());
  }
}

void ValidateResources(const std::unordered_map<std::string, double>& resources) {
  for (const auto& [name, value] : resources) {
    if (name.empty()) throw OrreryException("a resource name is empty");
    if (!(value > 0)) {
      throw OrreryException("resource " + name + " must be positive, got " + std::to_string(value));
    }
    if (value > 1 && std::floor(value) != value) {
      throw OrreryException("resource " + name + " above 1 must be a whole number, got " + std::to_string(value));
    }
  }
}

void ValidateMaxRetries(int max_retries) {
  if (max_retries < -1) {
    throw OrreryException("SetMaxRetries takes -1 (retry forever), 0 (never) or more, got " +
                          std::to_string(max_retries));
  }
}

std::vector<std::string> SplitRegisteredNames(const char* names) {
  std::vector<std::string> out;
  std::string current;
  int depth = 0;
  auto flush = [&] {
    size_t begin = current.find_first_not_of(" \t\n&");
    size_t end = current.find_last_not_of(" \t\n");
    out.push_back(begin == std::string::npos ? "" : current.substr(begin, end - begin + 1));
    current.clear();
  };
  for (const char* c = names; *c != '\0'; ++c) {
    if (*c == '(' || *c == '<') ++depth;
    if (*c == ')' || *c == '>') --depth;
    if (*c == ',' && depth == 0) {
      flush();
    } else {
      current += *c;
    }
  }
  flush();
  return out;
}

}  // namespace orrery::internal

namespace orrery {

std::string GetNamespace() { return internal::RequireRuntime().Namespace(); }

std::string GetNodeId() { return internal::RequireRuntime().NodeIdHex(); }

std::vector<std::string> GetAliveNodeIds() { return internal::RequireRuntime().AliveNodeIds(); }

void ExitActor() {
  if (internal::RequireRuntime().CurrentActorRestarts() < 0) {
    throw OrreryException("ExitActor() called outside an actor");
  }
  throw internal::ActorExitSignal{};
}

bool WasCurrentActorRestarted() { return internal::RequireRuntime().CurrentActorRestarts() > 0; }

}  // namespace orrery
