// A Ray C++ program, unchanged, through the installed orrery::ray_compat, compiled as C++17.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include <ray/api.h>

int Plus(int a, int b) { return a + b; }
int Missing(int a) { return a; }
std::string Getenv(std::string name) {
  const char* value = std::getenv(name.c_str());
  return value == nullptr ? "" : value;
}
RAY_REMOTE(Plus, Getenv);

int main(int argc, char** argv) {
  ray::RayConfig config;
  config.head_args = {"--num-cpus", "1"};
  ray::RuntimeEnv job_env;
  job_env.Set("env_vars", std::map<std::string, std::string>{{"STAGE", "job"}});
  config.runtime_env = job_env;
  ray::Init(config, argc, argv);
  ray::ObjectRef<int> sum = ray::Task(Plus).Remote(1, 2);
  int value = *ray::Get(sum);
  ray::RuntimeEnv task_env;
  task_env.Set("env_vars", std::map<std::string, std::string>{{"STAGE", "task"}});
  std::string job_stage = *ray::Get(ray::Task(Getenv).Remote("STAGE"));
  std::string task_stage = *ray::Get(ray::Task(Getenv).SetRuntimeEnv(task_env).Remote("STAGE"));
  bool refused = false;
  try {
    ray::Task(Missing).Remote(1);
  } catch (const ray::internal::RayException&) {
    refused = true;
  }
  ray::Shutdown();
  std::printf("plus %d, unregistered refused %d, env %s/%s\n", value, refused, job_stage.c_str(), task_stage.c_str());
  return value == 3 && refused && job_stage == "job" && task_stage == "task" ? 0 : 1;
}
