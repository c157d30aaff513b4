/// Ray's RayConfig, with Ray's field names; what each does in Orrery is said beside it.
#pragma once

#include <string>
#include <vector>

#include <boost/optional.hpp>

#include "orrery/config.h"
#include "ray/api/either_optional.h"
#include "ray/api/runtime_env.h"

namespace ray {

using orrery::ActorLifetime;

class RayConfig {
 public:
  /// "ip:port" of the GCS; empty: RAY_ADDRESS (or ORRERY_ADDRESS), else a local cluster.
  std::string address;
  /// Everything in this process, without daemons (for debugging).
  bool local_mode = false;
  /// Shared libraries (or folders of them) holding the remote functions, for workers.
  std::vector<std::string> code_search_path;
  /// Extra `orrery start` flags for the head Init() starts: {"--num-cpus", "2"}.
  std::vector<std::string> head_args;
  /// The lifetime of actors: NON_DETACHED (they share their owner's fate) or DETACHED.
  ActorLifetime default_actor_lifetime = ActorLifetime::NON_DETACHED;
  /// The job's runtime environment: env_vars, and working_dir (a local folder shipped to every
  /// node). Assign a RuntimeEnv, a boost::optional or a std::optional.
  internal::EitherOptional<RuntimeEnv> runtime_env;
  std::string ray_namespace;

  /// Accepted and ignored: a driver never talks to the GCS's storage (Ray: Redis).
  boost::optional<std::string> redis_password_;
  boost::optional<std::string> redis_username_;
  /// Set by Ray in its workers' config; Orrery knows a worker by its environment. Ignored.
  bool is_worker_ = false;
};

namespace internal {

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
}  // namespace ray
