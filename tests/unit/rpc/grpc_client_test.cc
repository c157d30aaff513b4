// GrpcClient (src/rpc/grpc_client.h): retries within a budget, the message limit checked before
// sending, and destruction while a call is in flight.
#include "src/rpc/grpc_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
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
using test::TestClient;
using test::TestServer;

using Async = class NodeManagerService::Stub::async;
using Clock = std::chrono::steady_clock;

// A loopback port nothing listens on: bound once to find a free one, then released.
int UnusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(GrpcClientTest, ACallIsServedWithTheTokenAndItsReplyDelivered) {
  TestServer server;
  server.service().register_worker = [](const RegisterWorkerRequest& request, RegisterWorkerReply* reply,
                                        ReplyCallback done) {
    reply->set_node_ip("pid " + std::to_string(request.pid()));
    done(absl::OkStatus());
  };
  ASSERT_OK(server.Start());
  RegisterWorkerRequest request;
  request.set_pid(42);
  auto reply = server.Client()->CallSync(&Async::RegisterWorker, request);
  ASSERT_OK(reply);
  EXPECT_EQ(reply->node_ip(), "pid 42");
}

TEST(GrpcClientTest, RetriesAnUnreachablePeerUntilTheBudgetIsSpent) {
  std::string target = "127.0.0.1:" + std::to_string(UnusedPort());
  RpcOptions rpc;
  // A flat back-off, so that the attempts fill the budget however the jitter falls.
  rpc.retry_initial_backoff_ms = 100;
  rpc.retry_max_backoff_ms = 100;
  auto client = TestServer::MakeClient(target, test::kTestToken, rpc);

  auto start = Clock::now();
  auto reply = client->CallSync(&Async::HealthCheck, HealthCheckRequest(),
                                CallOptions{.retry = true, .retry_budget_ms = 600});
  auto elapsed = Clock::now() - start;
  EXPECT_THAT(reply, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("test server at " + target)));
  EXPECT_GE(elapsed, std::chrono::milliseconds(300)) << "it gave up long before the budget";
  EXPECT_LT(elapsed, std::chrono::seconds(5)) << "it overran the budget";
}

TEST(GrpcClientTest, WithoutRetryAnUnreachablePeerFailsAtOnce) {
  std::string target = "127.0.0.1:" + std::to_string(UnusedPort());
  auto client = TestServer::MakeClient(target, test::kTestToken);
  auto start = Clock::now();
  auto reply = client->CallSync(&Async::HealthCheck, HealthCheckRequest(), CallOptions{.retry = false});
  auto elapsed = Clock::now() - start;
  EXPECT_THAT(reply, StatusIs(absl::StatusCode::kUnavailable,
                              AllOf(HasSubstr("test server at " + target), HasSubstr("unreachable"))));
  EXPECT_LT(elapsed, std::chrono::milliseconds(300));
}

TEST(GrpcClientTest, ARequestOverTheMessageLimitFailsWithoutBeingSent) {
  std::atomic<int> received{0};
  TestServer server;
  server.service().return_worker = [&](const ReturnWorkerRequest&, ReturnWorkerReply*, ReplyCallback done) {
    ++received;
    done(absl::OkStatus());
  };
  ASSERT_OK(server.Start());
  RpcOptions rpc;
  rpc.max_message_bytes = 1024;
  auto client = server.Client(test::kTestToken, rpc);

  ReturnWorkerRequest big;
  big.set_reason(std::string(2000, 'x'));
  EXPECT_THAT(client->CallSync(&Async::ReturnWorker, big, CallOptions{.retry = true}),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("exceeds the message limit of 1024 bytes"), HasSubstr(server.address()))));
  EXPECT_EQ(received, 0);

  ReturnWorkerRequest small;
  small.set_reason("fits");
  EXPECT_OK(client->CallSync(&Async::ReturnWorker, small));
  EXPECT_EQ(received, 1) << "the same client still serves calls within the limit";
}

TEST(GrpcClientTest, AReplyOverTheMessageLimitNamesTheLimit) {
  TestServer server;
  server.service().register_worker = [](const RegisterWorkerRequest&, RegisterWorkerReply* reply,
                                        ReplyCallback done) {
    reply->set_node_ip(std::string(4000, 'y'));
    done(absl::OkStatus());
  };
  ASSERT_OK(server.Start());
  RpcOptions rpc;
  rpc.max_message_bytes = 1024;
  EXPECT_THAT(server.Client(test::kTestToken, rpc)->CallSync(&Async::RegisterWorker, RegisterWorkerRequest()),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("(the message limit is 1024 bytes)")));
}

TEST(GrpcClientTest, AnAttemptThatOutlivesItsTimeoutIsDeadlineExceededNamingThePeer) {
  ReplyCallback held;
  TestServer server;
  server.service().health_check = [&](const HealthCheckRequest&, HealthCheckReply*, ReplyCallback done) {
    held = std::move(done);
  };
  ASSERT_OK(server.Start());
  auto client = server.Client();
  EXPECT_THAT(client->CallSync(&Async::HealthCheck, HealthCheckRequest(), CallOptions{.timeout_ms = 100}),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       AllOf(HasSubstr(server.address()), HasSubstr("did not answer in time"))));
}

TEST(GrpcClientTest, CompletionsRunOnTheDispatcher) {
  TestServer server;
  ASSERT_OK(server.Start());
  auto loop = EventLoop::Create("client");
  loop->StartThread();
  ClientOptions options;
  options.peer_name = "test server";
  options.token = test::kTestToken;
  options.dispatcher = loop->Dispatcher();
  TestClient client(MakeChannel(server.address(), options), options);
  absl::Notification done;
  bool on_loop = false;
  client.Call(&Async::HealthCheck, HealthCheckRequest(), {}, [&](absl::StatusOr<HealthCheckReply> reply) {
    EXPECT_OK(reply);
    on_loop = loop->InLoopThread();
    done.Notify();
  });
  done.WaitForNotification();
  EXPECT_TRUE(on_loop);
  loop->Stop();
}

TEST(GrpcClientTest, DestroyingTheClientCancelsACallInFlightPromptly) {
  ReplyCallback held;
  absl::Notification called;
  TestServer server;
  server.service().health_check = [&](const HealthCheckRequest&, HealthCheckReply*, ReplyCallback done) {
    held = std::move(done);  // never answered
    called.Notify();
  };
  ASSERT_OK(server.Start());
  auto client = server.Client();
  std::atomic<bool> delivered{false};
  absl::Status result;
  client->Call(&Async::HealthCheck, HealthCheckRequest(), CallOptions{.timeout_ms = 60'000},
               [&](absl::StatusOr<HealthCheckReply> reply) {
                 result = reply.status();
                 delivered = true;
               });
  called.WaitForNotification();

  auto start = Clock::now();
  client.reset();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  ASSERT_TRUE(delivered) << "the callback runs before the destructor returns";
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kCancelled));
}

TEST(GrpcClientTest, DestroyingTheClientDuringRetryBackOffCancelsTheCall) {
  std::string target = "127.0.0.1:" + std::to_string(UnusedPort());
  RpcOptions rpc;
  rpc.retry_initial_backoff_ms = 60'000;  // the first back-off outlasts the test
  rpc.retry_max_backoff_ms = 60'000;
  auto client = TestServer::MakeClient(target, test::kTestToken, rpc);
  std::atomic<bool> delivered{false};
  absl::Status result;
  client->Call(&Async::HealthCheck, HealthCheckRequest(), CallOptions{.retry = true, .retry_budget_ms = 600'000},
               [&](absl::StatusOr<HealthCheckReply> reply) {
                 result = reply.status();
                 delivered = true;
               });
  auto start = Clock::now();
  client.reset();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  ASSERT_TRUE(delivered);
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kCancelled));
}

// Forwards the connections it accepts to `target_port` on loopback, holding back the server's
// first bytes on each for `delay`: a connection whose handshake is as slow as a TLS one on a
// busy host.
class SlowHandshakeProxy {
 public:
  SlowHandshakeProxy(int target_port, std::chrono::milliseconds delay)
      : listener_(ListenTcp("127.0.0.1", 0).value()), stop_(eventfd(0, EFD_CLOEXEC)) {
    thread_ = std::thread([this, target_port, delay] { Run(target_port, delay); });
  }
  ~SlowHandshakeProxy() {
    uint64_t one = 1;
    EXPECT_EQ(write(stop_, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
    thread_.join();
    close(listener_.fd);
    close(stop_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(listener_.port); }

 private:
  void Run(int target_port, std::chrono::milliseconds delay) {
    std::vector<std::pair<int, int>> links;  // {client, server}
    std::vector<bool> answered;
    while (true) {
      std::vector<pollfd> fds = {{stop_, POLLIN, 0}, {listener_.fd, POLLIN, 0}};
      for (const auto& [client, server] : links) {
        fds.push_back({client, POLLIN, 0});
        fds.push_back({server, POLLIN, 0});
      }
      if (poll(fds.data(), fds.size(), -1) < 0 || fds[0].revents != 0) break;
      if (fds[1].revents != 0) {
        int client = accept4(listener_.fd, nullptr, nullptr, SOCK_CLOEXEC);
        absl::StatusOr<int> server = ConnectTcp("127.0.0.1", target_port, 10'000);
        if (client >= 0 && server.ok()) {
          links.emplace_back(client, *server);
          answered.push_back(false);
        }
      }
      for (size_t i = 0; i < links.size() && 2 + 2 * i + 1 < fds.size(); ++i) {
        auto [client, server] = links[i];
        if (fds[2 + 2 * i].revents != 0) Forward(client, server);
        if (fds[2 + 2 * i + 1].revents != 0) {
          if (!answered[i]) std::this_thread::sleep_for(delay);  // the slow handshake itself
          answered[i] = true;
          Forward(server, client);
        }
      }
    }
    for (const auto& [client, server] : links) {
      close(client);
      close(server);
    }
  }
  static void Forward(int from, int to) {
    char buffer[65536];
    ssize_t got = recv(from, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (got > 0) send(to, buffer, static_cast<size_t>(got), MSG_NOSIGNAL);
  }

  TcpListener listener_;
  int stop_;
  std::thread thread_;
};

// A connection attempt has a second to finish (TCP, the token gate or TLS, HTTP/2's settings),
// not gRPC's 100 ms floor: a call that does not wait for ready is served over a connection whose
// handshake takes 400 ms, rather than failing as unreachable.
TEST(GrpcClientTest, AConnectionWhoseHandshakeIsSlowIsStillMadeAndServesTheCall) {
  TestServer server;
  ASSERT_OK(server.Start());
  SlowHandshakeProxy proxy(server.port(), std::chrono::milliseconds(400));
  EXPECT_OK(TestServer::MakeClient(proxy.address(), test::kTestToken)->CallSync(&Async::HealthCheck, HealthCheckRequest()));
}

}  // namespace
}  // namespace orrery::rpc
