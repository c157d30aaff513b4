#include "src/core_worker/log_forwarder.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "src/common/file_util.h"
#include "src/common/termination.h"

namespace orrery::core {

namespace {
// The longest line kept whole.
constexpr size_t kMaxLineBytes = 64 * 1024;
// How long a worker being ended (SIGTERM) waits for its output to reach its files.
constexpr auto kDrainTimeout = std::chrono::seconds(1);
}  // namespace

LogForwarder::LogForwarder(WorkerId worker_id, std::shared_ptr<CoreWorkerClient> driver)
    : worker_id_(worker_id), driver_(std::move(driver)) {}

absl::Status LogForwarder::Start() {
  for (int target : {STDOUT_FILENO, STDERR_FILENO}) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
    int original = fcntl(target, F_DUPFD_CLOEXEC, 3);
    if (original < 0 || dup2(fds[1], target) < 0) {
      close(fds[0]);
      close(fds[1]);
      return absl::InternalError(absl::StrCat("redirecting fd ", target, ": ", std::strerror(errno)));
    }
    close(fds[1]);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++pumps_running_;
    }
    threads_.emplace_back([this, read_fd = fds[0], original, target] {
      Pump(read_fd, original, target == STDERR_FILENO);
    });
    threads_.back().detach();
  }
  // A pipe makes stdio fully buffered: keep lines flowing as they are written.
  setvbuf(stdout, nullptr, _IOLBF, 0);
  return DrainOnTermination();
}

absl::Status LogForwarder::DrainOnTermination() {
  return RunOnTermination([this] {
    std::fflush(stdout);
    std::fflush(stderr);
    // The pipes' write ends go, so each pump reads to the end of what was written, copies it to
    // the worker's files and stops (unless a child process still holds them: then the timeout).
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0) {
      dup2(null, STDOUT_FILENO);
      dup2(null, STDERR_FILENO);
    }
    std::unique_lock<std::mutex> lock(mu_);
    pumps_done_.wait_for(lock, kDrainTimeout, [this] { return pumps_running_ == 0; });
  });
}

void LogForwarder::Pump(int read_fd, int original_fd, bool is_stderr) {
  Forward(read_fd, original_fd, is_stderr);
  std::lock_guard<std::mutex> lock(mu_);
  --pumps_running_;
  pumps_done_.notify_all();
}

void LogForwarder::Forward(int read_fd, int original_fd, bool is_stderr) {
  std::string pending;
  char buffer[16 * 1024];
  for (;;) {
    ssize_t n = read(read_fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    WriteAll(original_fd, buffer, static_cast<size_t>(n));
    pending.append(buffer, static_cast<size_t>(n));
    rpc::PublishLogsRequest request;
    size_t start = 0;
    for (size_t newline; (newline = pending.find('\n', start)) != std::string::npos; start = newline + 1) {
      request.add_lines(pending.substr(start, newline - start));
    }
    pending.erase(0, start);
    if (pending.size() > kMaxLineBytes) {
      request.add_lines(pending);
      pending.clear();
    }
    if (request.lines_size() == 0) continue;
    request.set_worker_id(worker_id_.Binary());
    request.set_pid(getpid());
    request.set_is_stderr(is_stderr);
    // Synchronous, so lines arrive in the order they were written.
    auto reply = driver_->CallSync(&rpc::CoreWorkerService::Stub::async::PublishLogs, request, rpc::CallOptions{});
    (void)reply;
  }
}

}  // namespace orrery::core
