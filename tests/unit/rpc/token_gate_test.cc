// The token gate of plain TCP ports (src/rpc/token_gate.h): the request it accepts, and a real
// GrpcServer behind it, reached by Orrery's clients and by raw sockets that never send the token.
#include "src/rpc/token_gate.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/common/net.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/rpc/test_service.h"

namespace orrery::rpc {
namespace {

using ::orrery::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using test::kTestToken;
using test::TestServer;

using Async = class NodeManagerService::Stub::async;
using Clock = std::chrono::steady_clock;

constexpr char kRequestLine[] = "CONNECT orrery HTTP/1.1\r\nHost: orrery\r\n";

std::string RequestWith(const std::string& headers) { return std::string(kRequestLine) + headers + "\r\n"; }

class JudgeGateRequestTest : public ::testing::Test {
 protected:
  GateVerdict Judge(const std::string& received) { return JudgeGateRequest(received, auth_, "peer"); }
  TokenAuthenticator auth_{"gate test", "secret"};
};

TEST_F(JudgeGateRequestTest, TheRightTokenIsAdmittedWithA200) {
  GateVerdict verdict = Judge(RequestWith("User-Agent: grpc-httpcli/0.0\r\nx-orrery-token: secret\r\n"));
  EXPECT_EQ(verdict.kind, GateVerdict::kAdmit);
  EXPECT_EQ(verdict.reply, "HTTP/1.1 200 OK\r\n\r\n");
  // Header names are case-insensitive, as HTTP's.
  EXPECT_EQ(Judge(RequestWith("X-Orrery-Token:secret\r\n")).kind, GateVerdict::kAdmit);
}

TEST_F(JudgeGateRequestTest, AWrongTokenIsRefusedWithA403AndNoTokenWithA401) {
  GateVerdict wrong = Judge(RequestWith("x-orrery-token: secreT\r\n"));
  EXPECT_EQ(wrong.kind, GateVerdict::kRefuse);
  EXPECT_THAT(wrong.reply, HasSubstr(" 403 "));
  for (const std::string& headers : {std::string(""), std::string("x-orrery-token: \r\n")}) {
    GateVerdict none = Judge(RequestWith(headers));
    EXPECT_EQ(none.kind, GateVerdict::kRefuse) << headers;
    EXPECT_THAT(none.reply, HasSubstr(" 401 ")) << headers;
  }
}

TEST_F(JudgeGateRequestTest, ARequestStillComingWaitsAndAnythingElseIsClosedUnanswered) {
  EXPECT_EQ(Judge("CONN").kind, GateVerdict::kIncomplete);
  EXPECT_EQ(Judge(kRequestLine).kind, GateVerdict::kIncomplete);
  // Not the gate's request: an HTTP/2 client preface, a TLS ClientHello, a GET.
  for (const std::string& other : {std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), std::string("\x16\x03\x01\x02\x00", 5),
                                   std::string("GET / HTTP/1.1\r\n\r\n")}) {
    GateVerdict verdict = Judge(other);
    EXPECT_EQ(verdict.kind, GateVerdict::kRefuse);
    EXPECT_EQ(verdict.reply, "") << "nothing is said to a peer that is not a cluster client";
  }
  // Bytes after the request: a client waits for the answer first.
  EXPECT_EQ(Judge(RequestWith("x-orrery-token: secret\r\n") + "PRI").kind, GateVerdict::kRefuse);
  // A request that never ends within the bound.
  EXPECT_EQ(Judge(kRequestLine + std::string(kMaxGateRequestBytes, 'a')).kind, GateVerdict::kRefuse);
}

TEST(TokenGateRefusalTest, NamesThePeerAndWhyAndLeavesOtherErrorsAlone) {
  std::optional<absl::Status> wrong = TokenGateRefusal(
      "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: HTTP proxy returned response code 403",
      "GCS at 127.0.0.1:1");
  ASSERT_TRUE(wrong.has_value());
  EXPECT_THAT(*wrong, StatusIs(absl::StatusCode::kUnauthenticated,
                               AllOf(HasSubstr("GCS at 127.0.0.1:1 refused the connection"), HasSubstr("wrong cluster token"))));
  std::optional<absl::Status> none = TokenGateRefusal("HTTP proxy returned response code 401", "");
  ASSERT_TRUE(none.has_value());
  EXPECT_THAT(*none, StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("no cluster token")));
  EXPECT_FALSE(TokenGateRefusal("Connection refused", "x").has_value());
  EXPECT_FALSE(TokenGateRefusal("HTTP proxy returned response code 500", "x").has_value());
}

// ---- A GrpcServer on plain TCP, with the token, behind its gate ----

constexpr int64_t kDeadlineMs = 500;

class GatedServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options = TestServer::DefaultOptions();
    options.rpc.handshake_timeout_ms = kDeadlineMs;
    server_ = std::make_unique<TestServer>(options);
    ASSERT_OK(server_->Start());
  }

  // A raw connection to the server, whose sends and receives give up after 10 s.
  int ConnectRaw() {
    absl::StatusOr<int> fd = ConnectTcp("127.0.0.1", server_->port(), 10'000);
    EXPECT_OK(fd.status());
    return fd.value_or(-1);
  }

  // Everything the server sends on `fd` until it closes it; nullopt if it is still open after 10 s.
  static std::optional<std::string> ReadUntilClosed(int fd) {
    std::string received;
    char buffer[4096];
    while (true) {
      ssize_t got = recv(fd, buffer, sizeof(buffer), 0);
      if (got > 0) {
        received.append(buffer, static_cast<size_t>(got));
        continue;
      }
      if (got == 0 || errno == ECONNRESET) return received;
      return std::nullopt;
    }
  }

  void ExpectServesOn() {
    EXPECT_OK(server_->Client()->CallSync(&Async::HealthCheck, HealthCheckRequest())) << "the server serves on";
  }

  std::unique_ptr<TestServer> server_;
};

TEST_F(GatedServerTest, AClientWithTheTokenIsServedAndOneWithoutIsRefusedBeforeItsCallIsRead) {
  EXPECT_OK(server_->Client()->CallSync(&Async::HealthCheck, HealthCheckRequest()));
  EXPECT_THAT(server_->Client("wrong-token")->CallSync(&Async::HealthCheck, HealthCheckRequest()),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       AllOf(HasSubstr("refused the connection"), HasSubstr("wrong cluster token"))));
  CallOptions retried;
  retried.retry = true;
  EXPECT_THAT(server_->Client("")->CallSync(&Async::HealthCheck, HealthCheckRequest(), retried),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("no cluster token")));
  EXPECT_EQ(server_->service().calls_received.load(), 1) << "gRPC never saw the refused calls";
}

TEST_F(GatedServerTest, AGrpcClientThatSkipsTheGateIsCutOffAfterAFewKiBOfA64MiBRequest) {
  int fd = ConnectRaw();
  ASSERT_GE(fd, 0);
  // HTTP/2's preface and then bytes as a large request's would follow: the server reads no more
  // than the gate's bound and closes, so sending fails once the kernel's buffers are full.
  std::string chunk = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + std::string(1 << 20, 'x');
  int64_t sent = 0;
  int error = 0;
  while (sent < (64 << 20)) {
    ssize_t n = send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n < 0) {
      error = errno;
      break;
    }
    sent += n;
  }
  close(fd);
  EXPECT_TRUE(error == EPIPE || error == ECONNRESET) << "sent " << sent << " bytes; error " << strerror(error);
  EXPECT_LT(sent, int64_t{16} << 20) << "the server took in more than its socket buffers hold";
  EXPECT_EQ(server_->service().calls_received.load(), 0);
  ExpectServesOn();
}

TEST_F(GatedServerTest, AConnectionThatDoesNotFinishItsRequestIsClosedAtTheDeadline) {
  for (const std::string& partial : {std::string(), std::string(kRequestLine)}) {
    int fd = ConnectRaw();
    ASSERT_GE(fd, 0);
    Clock::time_point start = Clock::now();
    ASSERT_EQ(send(fd, partial.data(), partial.size(), MSG_NOSIGNAL), static_cast<ssize_t>(partial.size()));
    std::optional<std::string> answer = ReadUntilClosed(fd);
    int64_t held_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    close(fd);
    ASSERT_TRUE(answer.has_value()) << "still open after 10 s, having sent '" << partial << "'";
    EXPECT_EQ(*answer, "");
    EXPECT_GE(held_ms, kDeadlineMs - 50) << "closed before its deadline";  // steady clock, ms rounding
  }
  ExpectServesOn();
}

TEST_F(GatedServerTest, ARawRequestGetsTheGatesAnswerAndATlsHelloNone) {
  struct Case {
    std::string sent;
    std::string answer;
  };
  for (const Case& c : {Case{RequestWith("x-orrery-token: wrong\r\n"), "HTTP/1.1 403 Forbidden\r\n\r\n"},
                        Case{RequestWith(""), "HTTP/1.1 401 Unauthorized\r\n\r\n"},
                        Case{std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), ""}}) {
    int fd = ConnectRaw();
    ASSERT_GE(fd, 0);
    ASSERT_EQ(send(fd, c.sent.data(), c.sent.size(), MSG_NOSIGNAL), static_cast<ssize_t>(c.sent.size()));
    std::optional<std::string> answer = ReadUntilClosed(fd);
    close(fd);
    ASSERT_TRUE(answer.has_value()) << c.sent;
    EXPECT_EQ(*answer, c.answer);
  }
  // The right token opens the connection to HTTP/2: the server's settings follow the 200.
  int fd = ConnectRaw();
  ASSERT_GE(fd, 0);
  std::string request = RequestWith(std::string("x-orrery-token: ") + kTestToken + "\r\n");
  ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  std::string expected = "HTTP/1.1 200 OK\r\n\r\n";
  std::string received;
  char buffer[256];
  while (received.size() < expected.size() + 9) {  // and an HTTP/2 frame header
    ssize_t got = recv(fd, buffer, sizeof(buffer), 0);
    if (got <= 0) break;
    received.append(buffer, static_cast<size_t>(got));
  }
  close(fd);
  ASSERT_GE(received.size(), expected.size() + 9);
  EXPECT_EQ(received.substr(0, expected.size()), expected);
  EXPECT_EQ(received[expected.size() + 3], '\x04') << "an HTTP/2 SETTINGS frame";
  ExpectServesOn();
}

}  // namespace
}  // namespace orrery::rpc
