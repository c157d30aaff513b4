#include "fork_floor.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

namespace orrery::bench {

namespace {

[[noreturn]] void ServeForks(int fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  int children = 0;
  while (recv(fd, &children, sizeof(children), MSG_WAITALL) == sizeof(children)) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < children; ++i) {
      pid_t child = fork();
      if (child == 0) _exit(0);
      if (child > 0) waitpid(child, nullptr, 0);
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (send(fd, &seconds, sizeof(seconds), MSG_NOSIGNAL) != sizeof(seconds)) break;
  }
  _exit(0);
}

}  // namespace

ForkFloor StartForkFloor() {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    ServeForks(fds[1]);
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return {};
  }
  return ForkFloor{pid, fds[0]};
}

double ForkFloorRate(const ForkFloor& floor, int children) {
  if (floor.pid <= 0) return 0;
  double seconds = 0;
  if (send(floor.fd, &children, sizeof(children), MSG_NOSIGNAL) != sizeof(children)) return 0;
  if (recv(floor.fd, &seconds, sizeof(seconds), MSG_WAITALL) != sizeof(seconds) || seconds <= 0) return 0;
  return children / seconds;
}

void StopForkFloor(ForkFloor& floor) {
  if (floor.pid <= 0) return;
  close(floor.fd);  // its recv ends: it exits
  waitpid(floor.pid, nullptr, 0);
  floor = {};
}

}  // namespace orrery::bench
