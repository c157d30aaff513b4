#include "src/common/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/common/status.h"

extern char** environ;

namespace orrery {

namespace {

// Everything the child needs, built before fork(): after it, only async-signal-safe calls.
struct PreparedExec {
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
};

PreparedExec Prepare(const SpawnOptions& options) {
  PreparedExec p;
  p.argv_storage = options.argv;
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string::npos) continue;
    env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& name : options.unset_env) env.erase(name);
  for (const auto& [name, value] : options.env) env[name] = value;
  for (const auto& [name, value] : env) p.env_storage.push_back(name + "=" + value);
  for (auto& s : p.argv_storage) p.argv.push_back(s.data());
  p.argv.push_back(nullptr);
  for (auto& s : p.env_storage) p.envp.push_back(s.data());
  p.envp.push_back(nullptr);
  return p;
}

[[noreturn]] void ChildFail(int report_fd, int err) {
  ssize_t ignored = write(report_fd, &err, sizeof(err));
  (void)ignored;
  _exit(127);
}

// Opens `path` for appending and puts it at `target_fd`.
bool RedirectTo(const std::string& path, int target_fd) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  if (dup2(fd, target_fd) < 0) return false;
  close(fd);
  return true;
}

}  // namespace

absl::StatusOr<ChildProcess> Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("Spawn: empty argv");
  PreparedExec prepared = Prepare(options);
  const bool search_path = options.argv[0].find('/') == std::string::npos;

  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", errno);

  pid_t parent_pid = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(report[0]);
    close(report[1]);
    return ErrnoStatus("fork", err);
  }
  if (pid == 0) {
    close(report[0]);
    if (options.die_with_parent) {
      if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) ChildFail(report[1], errno);
      // The parent may have died between fork() and prctl(): then nobody would kill us.
      if (getppid() != parent_pid) _exit(1);
    }
    if (options.new_session && setsid() < 0) ChildFail(report[1], errno);
    // Signals the parent blocks or ignores must not leak into the program we start.
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
    }
    if (options.output_fd >= 0) {
      if (dup2(options.output_fd, STDOUT_FILENO) < 0 || dup2(options.output_fd, STDERR_FILENO) < 0) {
        ChildFail(report[1], errno);
      }
    } else {
      if (!options.stdout_path.empty() && !RedirectTo(options.stdout_path, STDOUT_FILENO)) ChildFail(report[1], errno);
      if (!options.stderr_path.empty() && !RedirectTo(options.stderr_path, STDERR_FILENO)) ChildFail(report[1], errno);
    }
    for (int fd : options.inherit_fds) {
      int flags = fcntl(fd, F_GETFD);
      if (flags < 0 || fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0) ChildFail(report[1], errno);
    }
    if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) ChildFail(report[1], errno);
    if (search_path) {
      execvpe(prepared.argv[0], prepared.argv.data(), prepared.envp.data());
    } else {
      execve(prepared.argv[0], prepared.argv.data(), prepared.envp.data());
    }
    ChildFail(report[1], errno);
  }

  close(report[1]);
  int child_errno = 0;
  ssize_t got;
  do {
    got = read(report[0], &child_errno, sizeof(child_errno));
  } while (got < 0 && errno == EINTR);
  close(report[0]);
  if (got == sizeof(child_errno)) {
    waitpid(pid, nullptr, 0);
    return Annotate(ErrnoStatus("start " + options.argv[0], child_errno),
                    absl::StrCat("cannot run '", absl::StrJoin(options.argv, " "), "'"));
  }

  ChildProcess child;
  child.pid = pid;
  auto pidfd = OpenPidfd(pid);
  child.pidfd = pidfd.ok() ? *pidfd : -1;
  return child;
}

absl::StatusOr<int> OpenPidfd(pid_t pid) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return ErrnoStatus(absl::StrCat("pidfd_open ", pid), errno);
  int flags = fcntl(fd, F_GETFD);
  fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  return fd;
}

bool WaitForExit(int pidfd, int timeout_ms) {
  struct pollfd pfd = {pidfd, POLLIN, 0};
  while (true) {
    int rc = poll(&pfd, 1, timeout_ms);
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return false;
  }
}

std::optional<int> TryReap(int pidfd) {
  siginfo_t info;
  std::memset(&info, 0, sizeof(info));
  if (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG) != 0) {
    return std::nullopt;
  }
  if (info.si_pid == 0) return std::nullopt;
  // Rebuild a wait(2)-style status from the siginfo.
  if (info.si_code == CLD_EXITED) return (info.si_status & 0xff) << 8;
  return info.si_status & 0x7f;
}

namespace {

// /proc/<pid>/stat, read with read(2): a process that ends while it is read makes read fail
// with ESRCH, which an ifstream's buffer throws as std::ios_failure (and that, uncaught, ended
// a GCS that asked for the start time of a job runner that had just exited).
std::optional<std::string> ReadProcStat(pid_t pid) {
  int fd = open(("/proc/" + std::to_string(pid) + "/stat").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string content;
  char buffer[1024];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return content;
}

}  // namespace

bool ProcessAlive(pid_t pid) {
  std::optional<std::string> content = ReadProcStat(pid);
  if (!content.has_value()) return false;
  size_t close_paren = content->rfind(')');
  if (close_paren == std::string::npos || close_paren + 2 >= content->size()) return false;
  char state = (*content)[close_paren + 2];
  return state != 'Z' && state != 'X';
}

absl::StatusOr<uint64_t> ProcessStartTime(pid_t pid) {
  std::optional<std::string> stat = ReadProcStat(pid);
  if (!stat.has_value()) return absl::NotFoundError(absl::StrCat("no process ", pid));
  const std::string& content = *stat;
  size_t close_paren = content.rfind(')');
  if (close_paren == std::string::npos) return absl::InternalError("unreadable /proc stat");
  std::istringstream rest(content.substr(close_paren + 2));
  std::string field;
  // After the command name: state is field 3; starttime is field 22.
  for (int i = 3; i <= 22; ++i) {
    if (!(rest >> field)) return absl::InternalError("short /proc stat");
  }
  uint64_t start_time = 0;
  if (!absl::SimpleAtoi(field, &start_time)) return absl::InternalError("unreadable /proc stat");
  return start_time;
}

int CountThreads() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return absl::StrCat("exit code ", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    int sig = WTERMSIG(wait_status);
    return absl::StrCat("killed by signal ", sig, " (", strsignal(sig), ")");
  }
  return absl::StrCat("wait status ", wait_status);
}

std::string SelfExePath() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace orrery
