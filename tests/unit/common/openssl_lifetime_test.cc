// A process may end while its threads still use OpenSSL (a raylet hashing a package it unpacks,
// gRPC's TLS threads, an object transfer in flight): exit must not free OpenSSL's state under
// them. OpenSSL's own atexit cleanup did, and such an exit crashed, freed twice, or hung.
#include "src/common/openssl_lifetime.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "gtest/gtest.h"
#include "src/common/directory_package.h"
#include "src/common/process.h"

namespace orrery {
namespace {

constexpr int kHashingThreads = 3;

// In a child: threads hash without end, and the process exits once every one of them has.
[[noreturn]] void ExitWhileThreadsHash() {
  static std::atomic<int> hashing{0};
  for (int i = 0; i < kHashingThreads; ++i) {
    std::thread([] {
      Sha256Hex("warm up");
      hashing.fetch_add(1);
      for (;;) Sha256Hex("a package's bytes");
    }).detach();
  }
  while (hashing.load() < kHashingThreads) std::this_thread::yield();
  std::exit(0);
}

TEST(OpenSslLifetime, AProcessExitsCleanlyWhileItsThreadsStillHash) {
  ASSERT_TRUE(kOpenSslKeptUntilExit);
  // The race is narrow: several exits make a regression show.
  for (int run = 0; run < 8; ++run) {
    pid_t child = fork();
    ASSERT_GE(child, 0) << "fork failed";
    if (child == 0) ExitWhileThreadsHash();
    auto pidfd = OpenPidfd(child);
    ASSERT_TRUE(pidfd.ok()) << pidfd.status();
    bool exited = WaitForExit(*pidfd, 30'000);
    if (!exited) kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    close(*pidfd);
    ASSERT_TRUE(exited) << "run " << run << ": the process hung at exit";
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "run " << run << ": the process ended with " << DescribeWaitStatus(status);
  }
}

}  // namespace
}  // namespace orrery
