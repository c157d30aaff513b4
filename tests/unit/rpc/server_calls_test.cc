// ServerCalls (src/rpc/server_calls.h) behind a real in-process gRPC server: the token check,
// deduplication by request id, errors reaching the client, and Stop() finishing open calls.
#include "src/rpc/server_calls.h"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/rpc/test_service.h"

namespace orrery::rpc {
namespace {

using ::orrery::testing::StatusIs;
using ::testing::HasSubstr;
using test::TestClient;
using test::TestServer;

using Async = class NodeManagerService::Stub::async;

// Calls RegisterWorker with the metadata a retrying client sends, as raw gRPC.
absl::StatusOr<RegisterWorkerReply> RegisterWithRequestId(const TestClient& client, const std::string& request_id) {
  grpc::ClientContext context;
  context.AddMetadata(kTokenMetadataKey, test::kTestToken);
  if (!request_id.empty()) context.AddMetadata(kRequestIdMetadataKey, request_id);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  RegisterWorkerRequest request;
  RegisterWorkerReply reply;
  absl::Notification done;
  grpc::Status status;
  client.stub()->async()->RegisterWorker(&context, &request, &reply, [&](grpc::Status s) {
    status = std::move(s);
    done.Notify();
  });
  done.WaitForNotification();
  if (!status.ok()) return FromGrpcStatus(status);
  return reply;
}

// A server whose RegisterWorker handler counts its runs and answers "run-<n>".
class CountingServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.service().register_worker = [this](const RegisterWorkerRequest&, RegisterWorkerReply* reply,
                                               ReplyCallback done) {
      reply->set_node_ip("run-" + std::to_string(++runs_));
      done(absl::OkStatus());
    };
    ASSERT_OK(server_.Start());
  }

  std::atomic<int> runs_{0};
  TestServer server_;
};

TEST_F(CountingServerTest, AWrongOrMissingTokenIsUnauthenticatedAndTheServerServesOn) {
  auto wrong = server_.Client("wrong-token");
  EXPECT_THAT(wrong->CallSync(&Async::RegisterWorker, RegisterWorkerRequest()),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("wrong cluster token")));
  auto missing = server_.Client("");
  EXPECT_THAT(missing->CallSync(&Async::RegisterWorker, RegisterWorkerRequest()),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("no cluster token")));
  EXPECT_EQ(runs_, 0) << "a refused call never reaches the handler";

  auto good = server_.Client();
  auto reply = good->CallSync(&Async::RegisterWorker, RegisterWorkerRequest());
  ASSERT_OK(reply);
  EXPECT_EQ(reply->node_ip(), "run-1");
}

TEST_F(CountingServerTest, ARepeatedRequestIdRunsTheHandlerOnceAndGetsTheSameReply) {
  auto client = server_.Client();
  auto first = RegisterWithRequestId(*client, "request-a");
  auto retried = RegisterWithRequestId(*client, "request-a");
  ASSERT_OK(first);
  ASSERT_OK(retried);
  EXPECT_EQ(first->node_ip(), "run-1");
  EXPECT_EQ(retried->node_ip(), "run-1");
  EXPECT_EQ(runs_, 1);

  auto other = RegisterWithRequestId(*client, "request-b");
  ASSERT_OK(other);
  EXPECT_EQ(other->node_ip(), "run-2") << "a different request id is a different request";
}

TEST_F(CountingServerTest, WithoutARequestIdADeduplicatedMethodRunsEveryTime) {
  auto client = server_.Client();
  ASSERT_OK(RegisterWithRequestId(*client, ""));
  ASSERT_OK(RegisterWithRequestId(*client, ""));
  EXPECT_EQ(runs_, 2);
}

// Waits (polling) until `condition` holds; false after 10 s.
template <typename Condition>
bool WaitUntil(Condition condition) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST(ServerCallsTest, AClientRetryAfterALostAnswerIsAnsweredNotAppliedTwice) {
  std::atomic<int> runs{0};
  ReplyCallback held;
  RegisterWorkerReply* held_reply = nullptr;
  absl::Notification called;
  TestServer server;
  server.service().register_worker = [&](const RegisterWorkerRequest&, RegisterWorkerReply* reply,
                                         ReplyCallback done) {
    ++runs;
    held = std::move(done);
    held_reply = reply;
    called.Notify();
  };
  ASSERT_OK(server.Start());
  auto client = server.Client();
  absl::Notification answered;
  absl::StatusOr<RegisterWorkerReply> result;
  // Each attempt times out while the handler sits on the first one, so the client retries.
  client->Call(&Async::RegisterWorker, RegisterWorkerRequest(),
               CallOptions{.timeout_ms = 300, .retry = true, .retry_budget_ms = 60'000},
               [&](absl::StatusOr<RegisterWorkerReply> r) {
                 result = std::move(r);
                 answered.Notify();
               });
  called.WaitForNotification();
  // A retry has arrived: it waits on the first attempt's outcome instead of running the handler.
  ASSERT_TRUE(WaitUntil([&] { return server.calls().open_calls() >= 2; }));
  held_reply->set_node_ip("applied once");
  held(absl::OkStatus());
  answered.WaitForNotification();
  ASSERT_OK(result);
  EXPECT_EQ(result->node_ip(), "applied once");
  EXPECT_EQ(runs, 1);
}

TEST(ServerCallsTest, AClientRetryAfterATransientServerFailureRunsTheHandlerAgain) {
  std::atomic<int> attempts{0};
  TestServer server;
  server.service().register_worker = [&](const RegisterWorkerRequest&, RegisterWorkerReply* reply,
                                         ReplyCallback done) {
    if (++attempts == 1) return done(absl::UnavailableError("busy, try again"));
    reply->set_node_ip("served");
    done(absl::OkStatus());
  };
  ASSERT_OK(server.Start());
  auto client = server.Client();
  auto reply = client->CallSync(&Async::RegisterWorker, RegisterWorkerRequest(),
                                CallOptions{.retry = true, .retry_budget_ms = 10'000});
  ASSERT_OK(reply);
  EXPECT_EQ(reply->node_ip(), "served");
  EXPECT_EQ(attempts, 2) << "the transient failure was not replayed to the retry";
}

TEST(ServerCallsTest, WithoutRetryAServersUnavailableReachesTheCaller) {
  std::atomic<int> attempts{0};
  TestServer server;
  server.service().health_check = [&](const HealthCheckRequest&, HealthCheckReply*, ReplyCallback done) {
    ++attempts;
    done(absl::UnavailableError("busy"));
  };
  ASSERT_OK(server.Start());
  EXPECT_THAT(server.Client()->CallSync(&Async::HealthCheck, HealthCheckRequest()),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("busy")));
  EXPECT_EQ(attempts, 1);
}

TEST(ServerCallsTest, AHandlersErrorReachesTheClientWithItsCodeAndMessage) {
  TestServer server;
  server.service().return_worker = [](const ReturnWorkerRequest& request, ReturnWorkerReply*, ReplyCallback done) {
    done(absl::NotFoundError("no lease " + request.reason()));
  };
  ASSERT_OK(server.Start());
  ReturnWorkerRequest request;
  request.set_reason("L1");
  EXPECT_THAT(server.Client()->CallSync(&Async::ReturnWorker, request),
              StatusIs(absl::StatusCode::kNotFound, "no lease L1"));
}

TEST(ServerCallsTest, TheHandlerMayAnswerLaterFromAnotherThread) {
  TestServer server;
  ReplyCallback held;
  RegisterWorkerReply* held_reply = nullptr;
  absl::Notification called;
  server.service().register_worker = [&](const RegisterWorkerRequest&, RegisterWorkerReply* reply,
                                         ReplyCallback done) {
    held = std::move(done);
    held_reply = reply;
    called.Notify();
  };
  ASSERT_OK(server.Start());
  auto client = server.Client();
  absl::Notification answered;
  absl::StatusOr<RegisterWorkerReply> result;
  client->Call(&Async::RegisterWorker, RegisterWorkerRequest(), {}, [&](absl::StatusOr<RegisterWorkerReply> r) {
    result = std::move(r);
    answered.Notify();
  });
  called.WaitForNotification();
  EXPECT_EQ(server.calls().open_calls(), 1u);
  held_reply->set_node_ip("late");
  held(absl::OkStatus());
  answered.WaitForNotification();
  ASSERT_OK(result);
  EXPECT_EQ(result->node_ip(), "late");
  EXPECT_EQ(server.calls().open_calls(), 0u);
}

TEST(ServerCallsTest, StopFinishesACallTheHandlerNeverAnsweredSoShutdownDoesNotHang) {
  TestServer server;
  ReplyCallback held;
  HealthCheckReply* held_reply = nullptr;
  absl::Notification called;
  server.service().health_check = [&](const HealthCheckRequest&, HealthCheckReply* reply, ReplyCallback done) {
    held = std::move(done);
    held_reply = reply;
    called.Notify();
  };
  ASSERT_OK(server.Start());
  auto client = server.Client();
  absl::Notification answered;
  absl::Status result;
  client->Call(&Async::HealthCheck, HealthCheckRequest(), {}, [&](absl::StatusOr<HealthCheckReply> r) {
    result = r.status();
    answered.Notify();
  });
  called.WaitForNotification();

  server.calls().Stop();
  answered.WaitForNotification();
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("shutting down")));
  EXPECT_EQ(server.calls().open_calls(), 0u);

  // New calls are refused from now on.
  EXPECT_THAT(client->CallSync(&Async::HealthCheck, HealthCheckRequest()),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("shutting down")));

  // With every call finished the server stops at once, whatever the grace period.
  auto start = std::chrono::steady_clock::now();
  server.Stop(/*grace_ms=*/60'000);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));

  // The handler's late answer is dropped harmlessly; the request and reply it owns are still valid.
  held_reply->Clear();
  held(absl::OkStatus());
  EXPECT_EQ(server.calls().open_calls(), 0u);
}

}  // namespace
}  // namespace orrery::rpc
