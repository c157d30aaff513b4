/// orrery::RuntimeEnv: the environment a job's, a task's or an actor's workers run in.
///
///   orrery::Config config;
///   config.working_dir = "./project";                  // shipped to every node (Config)
///   config.runtime_env.env_vars = {{"MODE", "train"}};  // every worker of the job
///   orrery::Init(config);
///   orrery::Task(Step).SetRuntimeEnv({.env_vars = {{"MODE", "eval"}}}).Remote();
#pragma once

#include <map>
#include <string>

#include "orrery/export.h"

namespace orrery {

struct RuntimeEnv {
  /// Environment variables of the workers. A task's or actor's are set on top of its job's
  /// (Config::runtime_env), and only workers started with exactly the same ones run it. ORRERY_*
  /// and CUDA_VISIBLE_DEVICES belong to the runtime: setting one throws OrreryException.
  std::map<std::string, std::string> env_vars;
};

namespace internal {
/// Throws OrreryException naming the first variable a RuntimeEnv may not set.
ORRERY_EXPORT void ValidateRuntimeEnv(const RuntimeEnv& env);
}  // namespace internal

}  // namespace orrery
