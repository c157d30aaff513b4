#include "src/common/daemon_ready.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "src/common/clock.h"

namespace orrery {

namespace {
void WriteLine(int fd, const nlohmann::json& j) {
  std::string line = j.dump() + "\n";
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  close(fd);
}
}  // namespace

void ReportReady(int fd, const nlohmann::json& fields) {
  if (fd < 0) return;
  nlohmann::json j = fields;
  j["ok"] = true;
  WriteLine(fd, j);
}

void ReportFailed(int fd, const std::string& error) {
  if (fd < 0) return;
  WriteLine(fd, {{"ok", false}, {"error", error}});
}

absl::StatusOr<nlohmann::json> WaitForReady(int fd, int64_t timeout_ms, const std::string& what,
                                            const std::string& log_hint) {
  std::string data;
  int64_t deadline = MonotonicMs() + timeout_ms;
  while (data.find('\n') == std::string::npos) {
    int64_t left = deadline - MonotonicMs();
    if (left <= 0) {
      return absl::DeadlineExceededError(what + " did not report ready within " + std::to_string(timeout_ms) +
                                         " ms; see " + log_hint);
    }
    struct pollfd pfd = {fd, POLLIN, 0};
    int rc = poll(&pfd, 1, static_cast<int>(left));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) continue;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::UnavailableError(what + " exited before it was ready; see " + log_hint);
    data.append(buf, static_cast<size_t>(n));
  }
  nlohmann::json j = nlohmann::json::parse(data.substr(0, data.find('\n')), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return absl::InternalError(what + " sent an unreadable ready line");
  if (!j.value("ok", false)) return absl::UnavailableError(j.value("error", what + " failed to start"));
  return j;
}

}  // namespace orrery
