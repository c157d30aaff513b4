// RunOnTermination in a real child process: SIGTERM runs the hooks in order, then the process
// still dies of SIGTERM (what a raylet reads of a worker it ended).
#include "src/common/termination.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace orrery {
namespace {

TEST(TerminationTest, SigtermRunsTheHooksInOrderThenEndsTheProcessBySigterm) {
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(report[0]);
    close(ready[0]);
    bool ok = RunOnTermination([&] { (void)!write(report[1], "a", 1); }).ok() &&
              RunOnTermination([&] { (void)!write(report[1], "b", 1); }).ok();
    (void)!write(ready[1], ok ? "y" : "n", 1);
    for (;;) pause();
  }
  close(report[1]);
  close(ready[1]);
  char answer = 0;
  ASSERT_EQ(read(ready[0], &answer, 1), 1);
  ASSERT_EQ(answer, 'y');
  ASSERT_EQ(kill(child, SIGTERM), 0);
  std::string ran;
  char buffer[8];
  for (ssize_t n; (n = read(report[0], buffer, sizeof(buffer))) > 0;) ran.append(buffer, n);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_EQ(ran, "ab");
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  close(report[0]);
  close(ready[0]);
}

}  // namespace
}  // namespace orrery
