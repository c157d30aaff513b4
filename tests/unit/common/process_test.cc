// Starting and watching processes (src/common/process.h): Spawn's options, pidfds, reaping, liveness.
#include "src/common/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/common/file_util.h"
#include "tests/testing/status_matchers.h"

namespace orrery {
namespace {

using ::orrery::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

// Waits for a spawned child to exit and reaps it; its wait status.
int WaitAndReap(const ChildProcess& child) {
  EXPECT_GE(child.pidfd, 0);
  EXPECT_TRUE(WaitForExit(child.pidfd, /*timeout_ms=*/-1));
  std::optional<int> status = TryReap(child.pidfd);
  EXPECT_TRUE(status.has_value());
  close(child.pidfd);
  return status.value_or(-1);
}

// Runs `script` with /bin/sh and returns its wait status.
int RunShell(const std::string& script, SpawnOptions options = {}) {
  options.argv = {"/bin/sh", "-c", script};
  auto child = Spawn(options);
  EXPECT_OK(child);
  if (!child.ok()) return -1;
  return WaitAndReap(*child);
}

// A child that runs until killed.
ChildProcess StartSleeper(SpawnOptions options = {}) {
  options.argv = {"sleep", "1000"};
  auto child = Spawn(options);
  EXPECT_OK(child);
  return child.value_or(ChildProcess{});
}

void KillAndReap(const ChildProcess& child) {
  kill(child.pid, SIGKILL);
  WaitAndReap(child);
}

// A pid that just exited and was reaped.
pid_t DeadPid() {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  return pid;
}

TEST(ProcessTest, SpawnPassesExtraEnvironment) {
  SpawnOptions options;
  options.env = {{"FOO", "bar"}};
  EXPECT_EQ(DescribeWaitStatus(RunShell(R"(test "$FOO" = bar)", options)), "exit code 0");
  options.env = {{"FOO", "baz"}};
  EXPECT_EQ(DescribeWaitStatus(RunShell(R"(test "$FOO" = bar)", options)), "exit code 1");
}

TEST(ProcessTest, ExtraEnvironmentReplacesAnInheritedVariable) {
  ASSERT_EQ(setenv("ORRERY_PROCESS_TEST_VAR", "inherited", 1), 0);
  SpawnOptions options;
  options.env = {{"ORRERY_PROCESS_TEST_VAR", "replaced"}};
  EXPECT_EQ(RunShell(R"(test "$ORRERY_PROCESS_TEST_VAR" = replaced)", options), 0);
  EXPECT_EQ(RunShell(R"(test "$ORRERY_PROCESS_TEST_VAR" = inherited)"), 0);
  unsetenv("ORRERY_PROCESS_TEST_VAR");
}

TEST(ProcessTest, UnsetEnvRemovesAnInheritedVariable) {
  ASSERT_EQ(setenv("ORRERY_PROCESS_TEST_UNSET", "1", 1), 0);
  const std::string is_unset = R"(test -z "${ORRERY_PROCESS_TEST_UNSET+set}")";
  EXPECT_NE(RunShell(is_unset), 0) << "without unset_env the child inherits it";
  SpawnOptions options;
  options.unset_env = {"ORRERY_PROCESS_TEST_UNSET"};
  EXPECT_EQ(RunShell(is_unset, options), 0);
  unsetenv("ORRERY_PROCESS_TEST_UNSET");
}

TEST(ProcessTest, ExitStatusIsDescribed) {
  EXPECT_EQ(DescribeWaitStatus(RunShell("exit 3")), "exit code 3");
  EXPECT_EQ(DescribeWaitStatus(RunShell("exit 0")), "exit code 0");
}

TEST(ProcessTest, DeathBySignalIsDescribed) {
  ChildProcess child = StartSleeper();
  ASSERT_GT(child.pid, 0);
  ASSERT_EQ(kill(child.pid, SIGKILL), 0);
  EXPECT_EQ(DescribeWaitStatus(WaitAndReap(child)), "killed by signal 9 (Killed)");

  EXPECT_EQ(DescribeWaitStatus(RunShell("kill -TERM $$")), "killed by signal 15 (Terminated)");
}

TEST(ProcessTest, SpawnOfAMissingProgramFailsInSpawnNamingIt) {
  SpawnOptions options;
  options.argv = {"/nonexistent/orrery-no-such-program", "--flag"};
  EXPECT_THAT(Spawn(options), StatusIs(absl::StatusCode::kNotFound,
                                       AllOf(HasSubstr("/nonexistent/orrery-no-such-program"),
                                             HasSubstr("No such file"))));
  options.argv = {"orrery-no-such-program-in-path"};
  EXPECT_THAT(Spawn(options),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("orrery-no-such-program-in-path")));
  options.argv = {};
  EXPECT_THAT(Spawn(options), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ProcessTest, SpawnOfANonExecutableFileFails) {
  char path[] = "/tmp/orrery_process_test_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  SpawnOptions options;
  options.argv = {path};
  EXPECT_THAT(Spawn(options), StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr(path)));
  unlink(path);
}

TEST(ProcessTest, StdoutAndStderrCanBeRedirectedToFiles) {
  char dir[] = "/tmp/orrery_process_test_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  SpawnOptions options;
  options.stdout_path = std::string(dir) + "/out.log";
  options.stderr_path = std::string(dir) + "/err.log";
  EXPECT_EQ(RunShell("echo hello; echo oops >&2", options), 0);
  EXPECT_EQ(RunShell("echo again", options), 0);
  auto out = ReadFileToString(options.stdout_path);
  auto err = ReadFileToString(options.stderr_path);
  ASSERT_OK(out);
  ASSERT_OK(err);
  EXPECT_EQ(*out, "hello\nagain\n") << "a log is appended to, never truncated";
  EXPECT_EQ(*err, "oops\n");
  EXPECT_OK(RemoveAll(dir));
}

TEST(ProcessTest, CwdSetsTheWorkingDirectory) {
  char dir[] = "/tmp/orrery_process_test_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  SpawnOptions options;
  options.cwd = dir;
  EXPECT_EQ(RunShell("touch here", options), 0);
  EXPECT_TRUE(PathExists(std::string(dir) + "/here"));
  EXPECT_OK(RemoveAll(dir));
}

TEST(ProcessTest, InheritedDescriptorsStayOpenInTheChild) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  SpawnOptions options;
  options.inherit_fds = {fds[1]};
  EXPECT_EQ(RunShell("echo through-the-pipe >&" + std::to_string(fds[1]), options), 0);
  close(fds[1]);
  char buf[64] = {};
  ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
  close(fds[0]);
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "through-the-pipe\n");
}

TEST(ProcessTest, NewSessionMakesTheChildASessionLeader) {
  SpawnOptions options;
  options.new_session = true;
  ChildProcess leader = StartSleeper(options);
  ASSERT_GT(leader.pid, 0);
  EXPECT_EQ(getsid(leader.pid), leader.pid);
  EXPECT_EQ(getpgid(leader.pid), leader.pid);
  KillAndReap(leader);

  ChildProcess plain = StartSleeper();
  ASSERT_GT(plain.pid, 0);
  EXPECT_EQ(getsid(plain.pid), getsid(0)) << "without new_session the child stays in ours";
  KillAndReap(plain);
}

TEST(ProcessTest, WaitForExitTimesOutWhileTheChildRunsAndReturnsOnceItExits) {
  ChildProcess child = StartSleeper();
  ASSERT_GE(child.pidfd, 0);
  EXPECT_FALSE(WaitForExit(child.pidfd, /*timeout_ms=*/20));
  EXPECT_FALSE(TryReap(child.pidfd).has_value()) << "still running";
  EXPECT_TRUE(ProcessAlive(child.pid));
  ASSERT_EQ(kill(child.pid, SIGKILL), 0);
  EXPECT_TRUE(WaitForExit(child.pidfd, /*timeout_ms=*/10'000));
  std::optional<int> status = TryReap(child.pidfd);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*status));
  close(child.pidfd);
}

TEST(ProcessTest, AZombieIsNotAlive) {
  ChildProcess child = StartSleeper();
  ASSERT_GT(child.pid, 0);
  ASSERT_EQ(kill(child.pid, SIGKILL), 0);
  ASSERT_TRUE(WaitForExit(child.pidfd, 10'000));
  // Exited but not yet reaped.
  EXPECT_FALSE(ProcessAlive(child.pid));
  WaitAndReap(child);
  EXPECT_FALSE(ProcessAlive(child.pid));
}

TEST(ProcessTest, ADeadPidIsNotAliveAndHasNoPidfd) {
  pid_t pid = DeadPid();
  EXPECT_FALSE(ProcessAlive(pid));
  auto pidfd = OpenPidfd(pid);
  EXPECT_FALSE(pidfd.ok());
  EXPECT_THAT(pidfd.status().message(), HasSubstr(std::to_string(pid)));
  EXPECT_FALSE(ProcessStartTime(pid).ok());
}

TEST(ProcessTest, OpenPidfdWorksForAnyLiveProcess) {
  auto pidfd = OpenPidfd(getpid());
  ASSERT_OK(pidfd);
  EXPECT_FALSE(WaitForExit(*pidfd, 0)) << "this process has not exited";
  EXPECT_NE(fcntl(*pidfd, F_GETFD) & FD_CLOEXEC, 0) << "pidfds must not leak into children";
  close(*pidfd);
}

TEST(ProcessTest, StartTimeOfThisProcessIsStable) {
  auto first = ProcessStartTime(getpid());
  auto second = ProcessStartTime(getpid());
  ASSERT_OK(first);
  ASSERT_OK(second);
  EXPECT_EQ(*first, *second);
  EXPECT_GT(*first, 0u);
}

TEST(ProcessTest, CountThreadsSeesANewThread) {
  int before = CountThreads();
  EXPECT_GE(before, 1);
  absl::Notification started, release;
  std::thread thread([&] {
    started.Notify();
    release.WaitForNotification();
  });
  started.WaitForNotification();
  EXPECT_EQ(CountThreads(), before + 1);
  release.Notify();
  thread.join();
}

TEST(ProcessTest, SelfExePathIsThisTestBinary) {
  std::string path = SelfExePath();
  ASSERT_FALSE(path.empty());
  EXPECT_EQ(path.front(), '/');
  EXPECT_THAT(path, HasSubstr("common_process_test"));
}

// A process that ends while its /proc entry is read: the readers answer (gone, or its start
// time), never throw. (A read failing with ESRCH, the process reaped between open and read,
// threw std::ios_failure from an ifstream's buffer; uncaught, it ended a GCS asking for the
// start time of a job's driver that its runner had just reaped.)
TEST(ProcessTest, ReadingAProcessThatIsBeingReapedAnswersAndNeverThrows) {
  for (int i = 0; i < 300; ++i) {
    SpawnOptions options;
    options.argv = {"/bin/true"};
    auto child = Spawn(options);
    ASSERT_TRUE(child.ok()) << child.status();
    // Reaped by another thread as soon as it exits, as a job runner reaps its driver.
    std::thread reaper([pidfd = child->pidfd] {
      WaitForExit(pidfd, -1);
      TryReap(pidfd);
    });
    while (ProcessStartTime(child->pid).ok() || ProcessAlive(child->pid)) {
    }
    reaper.join();
    close(child->pidfd);
  }
}

}  // namespace
}  // namespace orrery
