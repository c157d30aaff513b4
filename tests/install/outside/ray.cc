// A Ray C++ program, unchanged, through the installed orrery::ray_compat, compiled as C++17.
#include <cstdio>

#include <ray/api.h>

int Plus(int a, int b) { return a + b; }
int Missing(int a) { return a; }
RAY_REMOTE(Plus);

int main(int argc, char** argv) {
  ray::RayConfig config;
  config.head_args = {"--num-cpus", "1"};
  ray::Init(config, argc, argv);
  ray::ObjectRef<int> sum = ray::Task(Plus).Remote(1, 2);
  int value = *ray::Get(sum);
  bool refused = false;
  try {
    ray::Task(Missing).Remote(1);
  } catch (const ray::internal::RayException&) {
    refused = true;
  }
  ray::Shutdown();
  std::printf("plus %d, unregistered refused %d\n", value, refused);
  return value == 3 && refused ? 0 : 1;
}
