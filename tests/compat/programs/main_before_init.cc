// What a Ray program's main() does before ray::Init() in a worker (single-binary mode: every
// worker runs main up to Init, which never returns there). The program prints a line and
// records its pid in a file before Init(); its tasks print lines of their own. The test checks
// (run_ray_program.sh) that the line reaches the driver's terminal once (the driver's own), and
// this program that each process ran the code before Init() at most once, and fewer times in
// all than tasks ran.
#include <ray/api.h>

#include <fstream>
#include <set>

#include "expect.h"

int Pid(int task) {
  std::cout << "task " << task << " ran" << std::endl;
  return getpid();
}
RAY_REMOTE(Pid);

int main(int argc, char** argv) {
  const char* record = std::getenv("COMPAT_BEFORE_INIT_FILE");
  std::cout << "main before Init" << '\n';  // no flush: left in stdio's buffer
  if (record != nullptr) std::ofstream(record, std::ios::app) << getpid() << '\n';
  ray::RayConfig config;
  ray::Init(config, argc, argv);

  constexpr int kTasks = 30;
  std::vector<ray::ObjectRef<int>> pids;
  for (int i = 0; i < kTasks; ++i) pids.push_back(ray::Task(Pid).Remote(i));
  std::set<int> task_pids;
  for (const auto& pid : ray::Get(pids)) task_pids.insert(*pid);
  ray::Shutdown();

  if (record != nullptr) {
    std::ifstream in(record);
    std::multiset<int> recorded;
    for (int pid; in >> pid;) recorded.insert(pid);
    EXPECT(recorded.count(getpid()) == 1);
    for (int pid : recorded) EXPECT(recorded.count(pid) == 1);
    EXPECT(recorded.size() - 1 < static_cast<size_t>(kTasks));
    std::cout << "main_before_init: " << recorded.size() - 1 << " worker process(es) ran main before Init, "
              << task_pids.size() << " ran the " << kTasks << " tasks" << std::endl;
  }
  std::cout << "main_before_init: " << (compat_failures == 0 ? "ok" : "failed") << std::endl;
  return compat_failures == 0 ? 0 : 1;
}
