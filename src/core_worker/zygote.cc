#include "src/core_worker/zygote.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>

#include "orrery/node_manager.pb.h"
#include "src/common/process.h"

namespace orrery::internal {

namespace {

void SendEvent(int fd, const rpc::ZygoteEvent& event) {
  std::string bytes = event.SerializeAsString();
  while (send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

bool Redirect(const std::string& path, int target) {
  if (path.empty()) return true;
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = dup2(fd, target) >= 0;
  close(fd);
  return ok;
}

[[noreturn]] void EndZygote(const std::set<pid_t>& children) {
  for (pid_t child : children) kill(child, SIGKILL);
  _exit(0);
}

}  // namespace

void RunZygote(int control_fd) {
  rpc::ZygoteEvent hello;
  hello.mutable_hello()->set_pid(getpid());
  int threads = CountThreads();
  hello.mutable_hello()->set_threads(threads);
  SendEvent(control_fd, hello);
  if (threads > 1) _exit(0);

  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigset_t old_mask;
  sigprocmask(SIG_BLOCK, &chld, &old_mask);
  int sig_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  pid_t zygote_pid = getpid();
  std::set<pid_t> children;

  while (true) {
    struct pollfd fds[2] = {{control_fd, POLLIN, 0}, {sig_fd, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      EndZygote(children);
    }
    if (fds[1].revents & POLLIN) {
      struct signalfd_siginfo info;
      while (read(sig_fd, &info, sizeof(info)) > 0) {
      }
      int status = 0;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        children.erase(pid);
        rpc::ZygoteEvent exited;
        exited.mutable_exited()->set_pid(pid);
        exited.mutable_exited()->set_wait_status(status);
        SendEvent(control_fd, exited);
      }
    }
    if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    char buf[64 * 1024];
    ssize_t n = recv(control_fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) EndZygote(children);  // the raylet is gone
    rpc::ZygoteForkRequest request;
    if (!request.ParseFromArray(buf, static_cast<int>(n))) continue;

    pid_t pid = fork();
    if (pid == 0) {
      // The new worker: drop the zygote's plumbing and become an ordinary process.
      close(sig_fd);
      close(control_fd);
      sigprocmask(SIG_SETMASK, &old_mask, nullptr);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != zygote_pid) _exit(1);
      for (const auto& [name, value] : request.env()) setenv(name.c_str(), value.c_str(), 1);
      unsetenv("ORRERY_ZYGOTE_FD");
      unsetenv("LD_BIND_NOW");  // the zygote's, not for what the worker runs
      setenv("ORRERY_WORKER_MODE", "worker", 1);
      setenv("ORRERY_FORKED_FROM_ZYGOTE", "1", 1);
      if (!Redirect(request.stdout_path(), STDOUT_FILENO) || !Redirect(request.stderr_path(), STDERR_FILENO)) {
        _exit(1);
      }
      return;
    }
    rpc::ZygoteEvent event;
    if (pid < 0) {
      event.mutable_fork_failed()->set_worker_id(request.worker_id());
      event.mutable_fork_failed()->set_error(std::string("fork: ") + std::strerror(errno));
    } else {
      children.insert(pid);
      event.mutable_spawned()->set_worker_id(request.worker_id());
      event.mutable_spawned()->set_pid(pid);
    }
    SendEvent(control_fd, event);
  }
}

}  // namespace orrery::internal
