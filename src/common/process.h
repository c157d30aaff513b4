// Starting and watching processes: fork/exec with the options daemons need (own session,
// death with the parent, inherited descriptors), pidfds to learn of exits without polling.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace orrery {

struct SpawnOptions {
  std::vector<std::string> argv;
  // Added to, or replacing entries of, this process's environment.
  std::map<std::string, std::string> env;
  // Removed from the inherited environment.
  std::vector<std::string> unset_env;
  // Empty: inherit this process's stream.
  std::string stdout_path;
  std::string stderr_path;
  // When set (>= 0), stdout and stderr both go to this descriptor (a pipe's write end, so
  // that the parent reads the output as it comes), instead of the paths above.
  int output_fd = -1;
  std::string cwd;
  // setsid(): the child leads a new session and process group, detached from any terminal.
  bool new_session = false;
  // PR_SET_PDEATHSIG(SIGKILL). It fires when the *thread* that called Spawn exits, so call
  // Spawn from a thread that lives as long as the child should (a component's loop thread).
  bool die_with_parent = false;
  // Descriptors the child keeps at the same numbers (all others are close-on-exec).
  std::vector<int> inherit_fds;
};

struct ChildProcess {
  pid_t pid = -1;
  // A pidfd for the child, readable once it has exited; owned by the caller. -1 if unavailable.
  int pidfd = -1;
};

// Starts argv[0] (searched in PATH when it has no '/'). An exec failure is reported here, with
// the program and the reason, rather than as a child that exits 127.
absl::StatusOr<ChildProcess> Spawn(const SpawnOptions& options);

// A pidfd for any process (not only children); NotFound if it is gone.
absl::StatusOr<int> OpenPidfd(pid_t pid);

// Waits until the process behind `pidfd` has exited or `timeout_ms` passes (-1: forever).
// True when it exited.
bool WaitForExit(int pidfd, int timeout_ms);

// Reaps a child of this process without blocking; returns its wait status, or nullopt if it is
// still running. Uses the pidfd so it never reaps another child by accident.
std::optional<int> TryReap(int pidfd);

// True while `pid` exists and is not a zombie.
bool ProcessAlive(pid_t pid);

// The kernel's start time of `pid` (clock ticks since boot), to tell a reused pid apart.
absl::StatusOr<uint64_t> ProcessStartTime(pid_t pid);

// Threads in this process, from /proc/self/status.
int CountThreads();

// "exit code 3" or "killed by signal 9 (Killed)".
std::string DescribeWaitStatus(int wait_status);

// The absolute path of this process's executable.
std::string SelfExePath();

}  // namespace orrery
