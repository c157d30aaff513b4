#include "src/common/termination.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

namespace orrery {

namespace {

int g_wake_pipe[2] = {-1, -1};

void OnTermination(int) {
  char byte = 1;
  ssize_t ignored = write(g_wake_pipe[1], &byte, 1);
  (void)ignored;
}

struct Hooks {
  std::mutex mu;
  std::vector<std::function<void()>> hooks;
  bool installed = false;
};

Hooks& TheHooks() {
  static Hooks* hooks = new Hooks();  // never destroyed: the thread may run after exit begins
  return *hooks;
}

void RunHooksThenDie() {
  char byte;
  while (read(g_wake_pipe[0], &byte, 1) < 0 && errno == EINTR) {
  }
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard<std::mutex> lock(TheHooks().mu);
    hooks = TheHooks().hooks;
  }
  for (const auto& hook : hooks) hook();
  signal(SIGTERM, SIG_DFL);
  raise(SIGTERM);
}

}  // namespace

absl::Status RunOnTermination(std::function<void()> hook) {
  Hooks& hooks = TheHooks();
  std::lock_guard<std::mutex> lock(hooks.mu);
  if (!hooks.installed) {
    if (pipe2(g_wake_pipe, O_CLOEXEC) != 0) return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
    struct sigaction action = {};
    action.sa_handler = OnTermination;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    if (sigaction(SIGTERM, &action, nullptr) != 0) {
      return absl::InternalError(absl::StrCat("sigaction: ", std::strerror(errno)));
    }
    std::thread(RunHooksThenDie).detach();
    hooks.installed = true;
  }
  hooks.hooks.push_back(std::move(hook));
  return absl::OkStatus();
}

}  // namespace orrery
