/// Ray's C++ API spellings over Orrery (target orrery::ray_compat): a program written against
/// ray/api.h for what Orrery covers builds unchanged. What is and is not covered yet:
/// docs/ray-compat.md.
///
///   #include <ray/api.h>
///   int Plus(int a, int b) { return a + b; }
///   RAY_REMOTE(Plus);
///   int main(int argc, char** argv) {
///     ray::RayConfig config;
///     ray::Init(config, argc, argv);                       // reads --ray_* (and --orrery_*) flags
///     std::cout << *ray::Get(ray::Task(Plus).Remote(1, 2));
///     ray::Shutdown();
///   }
///
/// Documented departures: a task whose worker dies is retried 3 times (Ray C++: 1), and
/// GetActor returns std::optional (Ray C++: boost::optional; both test and dereference alike).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "orrery/api.h"
#include "ray/runtime_env.h"

#define RAY_REMOTE(...) ORRERY_REMOTE(__VA_ARGS__)
#define RAY_FUNC(f, ...) ORRERY_FUNC(f, __VA_ARGS__)

namespace ray {

using orrery::Actor;
using orrery::ActorLifetime;
using orrery::ExitActor;
using orrery::Get;
using orrery::GetActor;
using orrery::GetNamespace;
using orrery::IsInitialized;
using orrery::ObjectRef;
using orrery::Put;
using orrery::Shutdown;
using orrery::Task;
using orrery::Wait;
using orrery::WaitResult;
using orrery::WasCurrentActorRestarted;

// Placement groups (Ray's task_options.h), with Ray's enum values.
using orrery::CreatePlacementGroup;
using orrery::GetAllPlacementGroups;
using orrery::GetPlacementGroup;
using orrery::GetPlacementGroupById;
using orrery::PlacementGroup;
using orrery::PlacementGroupCreationOptions;
using orrery::PlacementGroupState;
using orrery::PlacementStrategy;
using orrery::RemovePlacementGroup;

template <typename T>
using ActorHandle = orrery::ActorHandle<T>;

/// Ray's RayConfig, with Ray's field names (the fields Orrery acts on so far).
struct RayConfig {
  /// "ip:port" of the GCS; empty: RAY_ADDRESS (or ORRERY_ADDRESS), else a local cluster.
  std::string address;
  /// Not available yet: Init() refuses it with an error.
  bool local_mode = false;
  std::vector<std::string> code_search_path;
  /// Extra `orrery start` flags for the head Init() starts: {"--num-cpus", "2"}.
  std::vector<std::string> head_args;
  /// The lifetime of actors: NON_DETACHED (they share their owner's fate) or DETACHED.
  ActorLifetime default_actor_lifetime = ActorLifetime::NON_DETACHED;
  std::string ray_namespace;
  /// The job's runtime environment: env_vars, and working_dir (a local folder shipped to every
  /// node). std::optional where Ray has boost::optional; both are set and tested alike.
  std::optional<RuntimeEnv> runtime_env;
};

namespace internal {
using RayException = orrery::OrreryException;
using RayActorException = orrery::ActorDiedError;
using RayTaskException = orrery::TaskError;
using RayWorkerException = orrery::WorkerCrashedError;
using RayTimeoutException = orrery::GetTimeoutError;
using RayFunctionNotFound = orrery::FunctionNotFoundError;
// RayRuntimeEnvException: ray/runtime_env.h.
using UnreconstructableException = orrery::ObjectLostError;

inline orrery::Config ToOrrery(const RayConfig& ray) {
  orrery::Config config;
  config.address = ray.address;
  config.local_mode = ray.local_mode;
  config.code_search_path = ray.code_search_path;
  config.head_args = ray.head_args;
  config.default_actor_lifetime = ray.default_actor_lifetime;
  config.job_namespace = ray.ray_namespace;
  if (ray.runtime_env.has_value()) {
    RuntimeEnv per_task = *ray.runtime_env;
    if (per_task.Contains("working_dir")) {
      config.working_dir = per_task.Get<std::string>("working_dir");
      per_task.Remove("working_dir");
    }
    config.runtime_env = per_task;
  }
  return config;
}
}  // namespace internal

inline void Init(RayConfig& config, int argc, char** argv) {
  orrery::Config native = internal::ToOrrery(config);
  orrery::internal::InitWithFlags(native, argc, argv, /*accept_ray_flags=*/true);
}
inline void Init(RayConfig& config) { Init(config, 0, nullptr); }
inline void Init() {
  RayConfig config;
  Init(config);
}

}  // namespace ray
