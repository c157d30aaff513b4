#include "src/launcher/daemon_launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/common/daemon_ready.h"
#include "src/common/file_util.h"
#include "src/common/process.h"
#include "src/common/status.h"

#ifndef ORRERY_INSTALL_BIN_DIR
#define ORRERY_INSTALL_BIN_DIR ""
#endif
#ifndef ORRERY_BUILD_BIN_DIR
#define ORRERY_BUILD_BIN_DIR ""
#endif

namespace orrery::launcher {

absl::StatusOr<std::string> FindBinDir() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("ORRERY_BIN_DIR"); env != nullptr && *env != '\0') candidates.push_back(env);
  std::string self = SelfExePath();
  if (!self.empty()) candidates.push_back(self.substr(0, self.rfind('/')));
  candidates.push_back(ORRERY_INSTALL_BIN_DIR);
  candidates.push_back(ORRERY_BUILD_BIN_DIR);
  for (const std::string& dir : candidates) {
    if (!dir.empty() && access((dir + "/orrery-gcs").c_str(), X_OK) == 0 &&
        access((dir + "/orrery-raylet").c_str(), X_OK) == 0) {
      return dir;
    }
  }
  return absl::NotFoundError("cannot find orrery-gcs and orrery-raylet in " + absl::StrJoin(candidates, ", ") +
                             "; set ORRERY_BIN_DIR to their directory");
}

absl::StatusOr<DaemonProcess> StartDaemon(const std::string& binary, std::vector<std::string> args,
                                          const std::string& output_path, int64_t timeout_ms,
                                          bool die_with_caller, const std::map<std::string, std::string>& env) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", errno);
  SpawnOptions spawn;
  spawn.argv.push_back(binary);
  spawn.argv.insert(spawn.argv.end(), args.begin(), args.end());
  spawn.argv.push_back("--ready-fd=" + std::to_string(pipe_fds[1]));
  spawn.inherit_fds.push_back(pipe_fds[1]);
  spawn.new_session = true;
  spawn.die_with_parent = die_with_caller;
  spawn.stdout_path = output_path;
  spawn.stderr_path = output_path;
  spawn.env = env;
  // A variable meant for us must not configure the daemon behind our back. The token above all:
  // a daemon takes the one its --token-file names, never one left in this shell's environment.
  spawn.unset_env = {"ORRERY_READY_FD", "ORRERY_WORKER_MODE", "ORRERY_ZYGOTE_FD", "ORRERY_WORKER_ID", "ORRERY_TOKEN"};
  auto child = Spawn(spawn);
  close(pipe_fds[1]);
  if (!child.ok()) {
    close(pipe_fds[0]);
    return child.status();
  }
  std::string name = binary.substr(binary.rfind('/') + 1);
  auto ready = WaitForReady(pipe_fds[0], timeout_ms, name, output_path);
  close(pipe_fds[0]);
  if (!ready.ok()) {
    kill(-child->pid, SIGKILL);
    kill(child->pid, SIGKILL);
    waitpid(child->pid, nullptr, 0);
    if (child->pidfd >= 0) close(child->pidfd);
    return ready.status();
  }
  return DaemonProcess{child->pid, child->pidfd, *ready};
}

}  // namespace orrery::launcher
