// DriverProcess: this test binary run again as a driver of the workload, in a process group of
// its own with its output in a file; killed with its group, if still running, when destroyed
// (and with the test's thread, should the test die first). Used by the test's thread only.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include "src/common/process.h"

namespace orrery::chaos {

class DriverProcess {
 public:
  // Starts `argv` with `env` added to this process's environment, its output to `output_path`.
  static absl::StatusOr<DriverProcess> Start(std::vector<std::string> argv, std::map<std::string, std::string> env,
                                             const std::string& output_path) {
    SpawnOptions options;
    options.argv = std::move(argv);
    options.env = std::move(env);
    options.stdout_path = output_path;
    options.stderr_path = output_path;
    options.new_session = true;
    options.die_with_parent = true;
    absl::StatusOr<ChildProcess> child = Spawn(options);
    if (!child.ok()) return child.status();
    return DriverProcess(*child, output_path);
  }

  DriverProcess(DriverProcess&& other) noexcept
      : child_(other.child_), output_path_(std::move(other.output_path_)), wait_status_(other.wait_status_) {
    other.child_ = ChildProcess{};
  }
  DriverProcess& operator=(DriverProcess&&) = delete;
  ~DriverProcess() {
    if (child_.pid > 0 && !wait_status_.has_value()) {
      kill(-child_.pid, SIGKILL);
      WaitForExit(child_.pidfd, -1);
      TryReap(child_.pidfd);
    }
    if (child_.pidfd >= 0) close(child_.pidfd);
  }

  // Waits until the driver exits or `deadline` passes; whether it has exited.
  bool ExitedBy(std::chrono::steady_clock::time_point deadline) {
    if (wait_status_.has_value()) return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!WaitForExit(child_.pidfd, static_cast<int>(std::max<int64_t>(left.count(), 0)))) return false;
    wait_status_ = TryReap(child_.pidfd);
    return wait_status_.has_value();
  }

  // Whether it exited with code 0 (once ExitedBy said it exited).
  bool Succeeded() const {
    return wait_status_.has_value() && WIFEXITED(*wait_status_) && WEXITSTATUS(*wait_status_) == 0;
  }
  // "exit code 1", "killed by signal 9 (Killed)", or "still running".
  std::string HowItEnded() const {
    return wait_status_.has_value() ? DescribeWaitStatus(*wait_status_) : "still running";
  }
  pid_t pid() const { return child_.pid; }

  // Everything it printed so far.
  std::string Output() const {
    std::ifstream in(output_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  DriverProcess(ChildProcess child, std::string output_path) : child_(child), output_path_(std::move(output_path)) {}

  ChildProcess child_;
  std::string output_path_;
  std::optional<int> wait_status_;
};

}  // namespace orrery::chaos
