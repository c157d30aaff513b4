// orrery-job-runner: the parent of one submitted job's driver, so that the driver outlives the
// GCS. The job supervisor starts it; it starts the driver (its own process group, its output
// the job's log, inherited as stdout and stderr), reports the driver's pid, waits for the
// driver and writes how it ended to a file. A GCS that restarts meanwhile finds the runner by
// its pid, waits for it to exit and reads that file: the job's status and exit code survive.
//
//   orrery-job-runner --ready-fd=N --exit-file=PATH -- DRIVER ARGS...
//
// The ready line is {"ok": true, "driver_pid": P}, or {"ok": false, "error": ...} when the
// driver could not start. The exit file holds {"wait_status": S}, written atomically.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "nlohmann/json.hpp"
#include "src/common/daemon_ready.h"
#include "src/common/file_util.h"
#include "src/common/process.h"

namespace orrery {
namespace {

struct RunnerArgs {
  int ready_fd = -1;
  std::string exit_file;
  std::vector<std::string> driver;
};

bool ParseArgs(int argc, char** argv, RunnerArgs& args) {
  int i = 1;
  for (; i < argc && std::string(argv[i]) != "--"; ++i) {
    std::string arg = argv[i];
    if (absl::StartsWith(arg, "--ready-fd=")) {
      args.ready_fd = std::atoi(arg.c_str() + std::string("--ready-fd=").size());
    } else if (absl::StartsWith(arg, "--exit-file=")) {
      args.exit_file = arg.substr(std::string("--exit-file=").size());
    } else {
      return false;
    }
  }
  for (++i; i < argc; ++i) args.driver.push_back(argv[i]);
  return args.ready_fd >= 0 && !args.exit_file.empty() && !args.driver.empty();
}

int Run(const RunnerArgs& args) {
  SpawnOptions spawn;
  spawn.argv = args.driver;
  // Its own process group, which `orrery job stop` signals; this runner is not in it, so it
  // lives to record how the driver ended.
  spawn.new_session = true;
  auto driver = Spawn(spawn);
  if (!driver.ok() || driver->pidfd < 0) {
    if (driver.ok()) kill(-driver->pid, SIGKILL);
    ReportFailed(args.ready_fd, driver.ok() ? "no pidfd for its driver" : std::string(driver.status().message()));
    return 1;
  }
  ReportReady(args.ready_fd, {{"driver_pid", driver->pid}});
  int wait_status = 0;
  while (true) {
    WaitForExit(driver->pidfd, -1);
    if (auto reaped = TryReap(driver->pidfd); reaped.has_value()) {
      wait_status = *reaped;
      break;
    }
  }
  nlohmann::json result = {{"wait_status", wait_status}};
  if (absl::Status written = WriteFileAtomic(args.exit_file, result.dump() + "\n"); !written.ok()) {
    fprintf(stderr, "orrery-job-runner: cannot record how the driver ended: %s\n",
            std::string(written.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace orrery

int main(int argc, char** argv) {
  orrery::RunnerArgs args;
  if (!orrery::ParseArgs(argc, argv, args)) {
    fprintf(stderr, "usage: orrery-job-runner --ready-fd=N --exit-file=PATH -- DRIVER ARGS...\n");
    return 2;
  }
  return orrery::Run(args);
}
