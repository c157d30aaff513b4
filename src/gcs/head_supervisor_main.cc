// orrery-head: the head's supervisor. It runs orrery-gcs and starts it again whenever it exits
// abnormally (a crash, a kill, an OOM kill), after a back-off from 100 ms to 5 s, logging why.
// A separate, tiny process with its own name, so that operators and scripts can tell it from
// the GCS; `orrery start --head` runs it when the GCS keeps its tables in durable storage.
//
//   orrery-head --session-dir=DIR -- /path/to/orrery-gcs GCS_FLAGS...
//
// A --ready-fd=N anywhere on the line goes to the first GCS only (it reports to whoever started
// the head). SIGTERM, SIGINT or SIGHUP stop the GCS and then the supervisor.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "src/common/clock.h"
#include "src/common/log.h"
#include "src/common/logging.h"
#include "src/common/process.h"
#include "src/common/session.h"

namespace orrery {
namespace {

constexpr int64_t kFirstBackoffMs = 100;
constexpr int64_t kMaxBackoffMs = 5000;
// A GCS killed by a signal (a crash, a kill, the OOM killer) after running this long had
// started: it starts again after the first back-off (100 ms). The longer back-offs are for a
// GCS that cannot start: it exits with an error (its storage refused, say), or dies within
// milliseconds of every start.
constexpr int64_t kStartedRunMs = 200;
constexpr int kStopGraceMs = 10'000;

struct HeadArgs {
  std::string session_dir;
  int ready_fd = -1;                // --ready-fd=N: the first GCS reports to it
  std::vector<std::string> gcs;     // the GCS command line
};

bool ParseArgs(int argc, char** argv, HeadArgs& args) {
  bool gcs_part = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (absl::StartsWith(arg, "--ready-fd=")) {
      args.ready_fd = std::atoi(arg.c_str() + std::string("--ready-fd=").size());
    } else if (gcs_part) {
      args.gcs.push_back(arg);
    } else if (arg == "--") {
      gcs_part = true;
    } else if (absl::StartsWith(arg, "--session-dir=")) {
      args.session_dir = arg.substr(std::string("--session-dir=").size());
    } else {
      fprintf(stderr, "orrery-head: unknown argument '%s'\nusage: orrery-head --session-dir=DIR -- ORRERY_GCS ARGS...\n",
              arg.c_str());
      return false;
    }
  }
  if (args.gcs.empty()) {
    fprintf(stderr, "usage: orrery-head --session-dir=DIR -- ORRERY_GCS ARGS...\n");
    return false;
  }
  return true;
}

sigset_t WatchedSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&set, sig);
  return set;
}

// Waits up to `timeout_ms` (forever when negative) for a watched signal; 0 on timeout.
int WaitForSignal(int64_t timeout_ms) {
  sigset_t set = WatchedSignals();
  if (timeout_ms < 0) {
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {
    }
    return sig;
  }
  timespec ts{static_cast<time_t>(timeout_ms / 1000), static_cast<long>(timeout_ms % 1000) * 1'000'000};
  int sig = sigtimedwait(&set, nullptr, &ts);
  return sig < 0 ? 0 : sig;
}

class Supervisor {
 public:
  explicit Supervisor(HeadArgs args) : args_(std::move(args)) {}

  int Run() {
    if (!StartGcs(/*first=*/true)) return 1;
    int64_t backoff_ms = kFirstBackoffMs;
    while (true) {
      int sig = WaitForSignal(-1);
      if (sig != SIGCHLD) return Stop(sig);
      std::optional<int> status = Reap();
      if (!status.has_value()) continue;  // another child's SIGCHLD (none expected)
      if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0) {
        spdlog::info("orrery-gcs (pid {}) exited normally: the head supervisor stops too", pid_);
        return 0;
      }
      int64_t ran_ms = MonotonicMs() - started_ms_;
      if (WIFSIGNALED(*status) && ran_ms >= kStartedRunMs) backoff_ms = kFirstBackoffMs;
      spdlog::error("orrery-gcs (pid {}) {} after {} ms: starting it again in {} ms", pid_,
                    DescribeWaitStatus(*status), ran_ms, backoff_ms);
      pid_ = -1;
      // The back-off is a wait for a stop signal too.
      if (int sig = WaitForSignal(backoff_ms); sig != 0 && sig != SIGCHLD) return Stop(sig);
      backoff_ms = std::min(backoff_ms * 2, kMaxBackoffMs);
      // A GCS that cannot start (its storage refused, say) exits at once and is retried at the
      // slowest back-off, its reason in its own log; the supervisor never gives up.
      StartGcs(/*first=*/false);
    }
  }

 private:
  bool StartGcs(bool first) {
    SpawnOptions spawn;
    for (const std::string& arg : args_.gcs) {
      // --gcs-storage-reset empties the storage once, at the head's start: a GCS started
      // again must find what its predecessor stored.
      if (!first && absl::StartsWith(arg, "--gcs-storage-reset")) continue;
      spawn.argv.push_back(arg);
    }
    if (first && args_.ready_fd >= 0) {
      spawn.argv.push_back("--ready-fd=" + std::to_string(args_.ready_fd));
      spawn.inherit_fds.push_back(args_.ready_fd);
    }
    auto child = Spawn(spawn);
    if (!child.ok()) {
      spdlog::error("cannot start orrery-gcs: {}", child.status().message());
      return false;
    }
    if (child->pidfd >= 0) close(child->pidfd);  // reaped with waitpid
    pid_ = child->pid;
    started_ms_ = MonotonicMs();
    if (first && args_.ready_fd >= 0) {
      // Only the first GCS reports to whoever started the head.
      close(args_.ready_fd);
    }
    if (!first) spdlog::info("orrery-gcs started again (pid {})", pid_);
    return true;
  }

  std::optional<int> Reap() {
    if (pid_ <= 0) return std::nullopt;
    int status = 0;
    pid_t reaped = waitpid(pid_, &status, WNOHANG);
    if (reaped != pid_) return std::nullopt;
    return status;
  }

  int Stop(int sig) {
    spdlog::info("orrery-head: signal {}, stopping orrery-gcs", sig);
    if (pid_ <= 0) return 0;
    kill(pid_, SIGTERM);
    int64_t deadline = MonotonicMs() + kStopGraceMs;
    while (!Reap().has_value()) {
      int64_t left = deadline - MonotonicMs();
      if (left <= 0) {
        spdlog::warn("orrery-gcs did not stop within {} ms: killing it", kStopGraceMs);
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        break;
      }
      WaitForSignal(std::min<int64_t>(left, 100));
    }
    return 0;
  }

  const HeadArgs args_;
  pid_t pid_ = -1;
  int64_t started_ms_ = 0;
};

}  // namespace
}  // namespace orrery

int main(int argc, char** argv) {
  using namespace orrery;
  sigset_t watched = WatchedSignals();
  pthread_sigmask(SIG_BLOCK, &watched, nullptr);
  signal(SIGPIPE, SIG_IGN);
  HeadArgs args;
  if (!ParseArgs(argc, argv, args)) return 2;
  LoggingOptions logging{"head", std::to_string(getpid()), "", "info"};
  if (!args.session_dir.empty()) logging.log_dir = SessionDir(args.session_dir).LogsDir();
  if (absl::Status status = InitLogging(logging); !status.ok()) {
    fprintf(stderr, "orrery-head: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  if (!args.session_dir.empty()) {
    if (absl::Status status = WritePidRecord(SessionDir(args.session_dir), "head", getpid()); !status.ok()) {
      spdlog::warn("cannot write the pid record: {}", status.message());
    }
  }
  const std::string session_dir = args.session_dir;
  int code = Supervisor(std::move(args)).Run();
  if (!session_dir.empty()) unlink((SessionDir(session_dir).PidsDir() + "/head.pid").c_str());
  return code;
}
