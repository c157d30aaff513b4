// A remote function through the installed orrery::orrery, compiled as C++17.
#include <cstdio>

#include <orrery/api.h>

int Square(int x) { return x * x; }
ORRERY_REMOTE(Square);

int main(int argc, char** argv) {
  orrery::Config config;
  config.head_args = {"--num-cpus=1"};
  orrery::Init(config, argc, argv);
  int value = *orrery::Get(orrery::Task(Square).Remote(7));
  orrery::Shutdown();
  std::printf("square %d\n", value);
  return value == 49 ? 0 : 1;
}
