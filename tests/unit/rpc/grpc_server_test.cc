// GrpcServer (src/rpc/grpc_server.h): a busy port, and the Unix socket that only this user may use.
#include "src/rpc/grpc_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/common/file_util.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/rpc/test_service.h"

namespace orrery::rpc {
namespace {

using ::orrery::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using test::TestServer;

using Async = class NodeManagerService::Stub::async;

TEST(GrpcServerTest, ChoosesAFreePortAndServes) {
  TestServer server;
  ASSERT_OK(server.Start());
  EXPECT_GT(server.port(), 0);
  EXPECT_OK(server.Client()->CallSync(&Async::HealthCheck, HealthCheckRequest()));
}

TEST(GrpcServerTest, ABusyPortIsAlreadyExistsNamingThePort) {
  TestServer first;
  ASSERT_OK(first.Start());
  ServerOptions options = TestServer::DefaultOptions();
  options.port = first.port();
  TestServer second(options);
  EXPECT_THAT(second.Start(), StatusIs(absl::StatusCode::kAlreadyExists,
                                       AllOf(HasSubstr(std::to_string(first.port())), HasSubstr("in use"))));
  EXPECT_OK(first.Client()->CallSync(&Async::HealthCheck, HealthCheckRequest())) << "the first server serves on";
}

TEST(PeerIsSameUserTest, TrueForAPeerOfThisUserAndFalseForANonSocket) {
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  EXPECT_TRUE(PeerIsSameUser(pair[0]));
  close(pair[0]);
  close(pair[1]);
  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  EXPECT_FALSE(PeerIsSameUser(pipe_fds[0]));
  close(pipe_fds[0]);
  close(pipe_fds[1]);
}

// What a raw connection to a Unix socket got after sending the HTTP/2 preface.
enum class RawOutcome { kServed = 10, kClosed = 11, kSilent = 12, kConnectFailed = 13, kSetuidFailed = 14 };

// Only async-signal-safe calls: it also runs in a forked child of this threaded process.
RawOutcome ConnectRaw(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return RawOutcome::kConnectFailed;
  }
  static const char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  (void)send(fd, kPreface, sizeof(kPreface) - 1, MSG_NOSIGNAL);
  struct pollfd pfd = {fd, POLLIN, 0};
  if (poll(&pfd, 1, 10'000) <= 0) return RawOutcome::kSilent;
  char buf[64];
  ssize_t n = recv(fd, buf, sizeof(buf), 0);
  close(fd);
  if (n > 0) return RawOutcome::kServed;
  return (n == 0 || errno == ECONNRESET) ? RawOutcome::kClosed : RawOutcome::kSilent;
}

class UnixSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/orrery_uds_test_XXXXXX";  // mkdtemp makes it 0700
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/test.sock";
  }
  void TearDown() override { EXPECT_OK(RemoveAll(dir_)); }

  ServerOptions Options() const {
    ServerOptions options = TestServer::DefaultOptions();
    options.unix_socket_path = path_;
    return options;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(UnixSocketTest, AClientOfThisUserIsServedOverTheSocket) {
  TestServer server(Options());
  ASSERT_OK(server.Start());
  auto client = TestServer::MakeClient("unix:" + path_, test::kTestToken);
  EXPECT_OK(client->CallSync(&Async::HealthCheck, HealthCheckRequest()));
  EXPECT_EQ(ConnectRaw(path_), RawOutcome::kServed) << "a raw connection of this user gets HTTP/2 back";
  server.Stop();
  EXPECT_FALSE(PathExists(path_)) << "the socket file is removed at shutdown";
}

TEST_F(UnixSocketTest, AnotherUsersConnectionIsClosedUnserved) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to connect as another user";
  TestServer server(Options());
  ASSERT_OK(server.Start());
  // Let the other user reach the socket, so that only the server's own check stands in its way.
  ASSERT_EQ(chmod(dir_.c_str(), 0711), 0);
  ASSERT_EQ(chmod(path_.c_str(), 0777), 0);

  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(static_cast<int>(RawOutcome::kSetuidFailed));
    _exit(static_cast<int>(ConnectRaw(path_)));
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), static_cast<int>(RawOutcome::kClosed))
      << "10 served, 11 closed, 12 silent, 13 connect failed, 14 setuid failed";

  // The refusal cost nothing: this user is still served.
  auto client = TestServer::MakeClient("unix:" + path_, test::kTestToken);
  EXPECT_OK(client->CallSync(&Async::HealthCheck, HealthCheckRequest()));
}

TEST_F(UnixSocketTest, ADirectoryOthersCanEnterIsRefused) {
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  TestServer server(Options());
  EXPECT_THAT(server.Start(), StatusIs(absl::StatusCode::kPermissionDenied, AllOf(HasSubstr(dir_), HasSubstr("0700"))));
  EXPECT_FALSE(PathExists(path_));
}

TEST_F(UnixSocketTest, ASocketPathTooLongForTheKernelIsRefused) {
  path_ = dir_ + "/" + std::string(120, 's');
  TestServer server(Options());
  EXPECT_THAT(server.Start(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must have 1 to 107 bytes")));
}

// "@NAME": a socket in Linux's abstract namespace (a worker's, for its node's processes): no
// file, no directory to check, the same uid check; the name is free again once the server stops.
TEST(AbstractUnixSocketTest, AClientOfThisUserIsServedAndTheNameIsFreedAtShutdown) {
  const std::string name = "orrery-test-" + std::to_string(getpid()) + "-" + std::to_string(random());
  ServerOptions options = TestServer::DefaultOptions();
  options.unix_socket_path = "@" + name;
  {
    TestServer server(options);
    ASSERT_OK(server.Start());
    auto client = TestServer::MakeClient("unix-abstract:" + name, test::kTestToken);
    EXPECT_OK(client->CallSync(&Async::HealthCheck, HealthCheckRequest()));
    TestServer second(options);
    EXPECT_THAT(second.Start(), StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(name)))
        << "one server per name";
    server.Stop();
  }
  TestServer again(options);
  EXPECT_OK(again.Start());
}

}  // namespace
}  // namespace orrery::rpc
