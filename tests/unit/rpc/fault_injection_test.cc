// Fault injection (src/rpc/fault_injection.h): the variables' grammar, the odds and limits, and
// GrpcClient under it against a real server: a dropped request is never seen by the server, a
// dropped reply is retried and answered from the replay cache (the handler ran once), a delay
// delays. The variables are set before the first call of this process reads them.
#include "src/rpc/fault_injection.h"

#include <stdlib.h>

#include <atomic>
#include <chrono>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/rpc/test_service.h"

namespace orrery::rpc {
namespace {

using ::orrery::testing::StatusIs;
using ::testing::HasSubstr;
using test::TestServer;
using Async = class NodeManagerService::Stub::async;

// Before main: FaultInjector::FromEnvironment reads them once, at the first call.
const bool kVariablesSet = [] {
  setenv("ORRERY_TESTING_RPC_FAILURE",
         "NodeManagerService.RegisterWorker=1:0:100, NodeManagerService.HealthCheck=2:100:0", 1);
  setenv("ORRERY_TESTING_RPC_DELAY_MS", "NodeManagerService.ReturnWorker=300:300", 1);
  return true;
}();

TEST(FaultInjectorTest, MalformedValuesAreRefusedNamingThem) {
  EXPECT_THAT(FaultInjector::Parse("GcsService.KvPut=1:50", "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'GcsService.KvPut=1:50'")));
  EXPECT_THAT(FaultInjector::Parse("KvPut=1:50:0", "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Service.Method")));
  EXPECT_THAT(FaultInjector::Parse("*=1:150:0", "").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'150'")));
  EXPECT_THAT(FaultInjector::Parse("", "GcsService.KvGet=50:10").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'10'")));
  EXPECT_OK(FaultInjector::Parse("*=-1:1:1,GcsService.KvPut=3:0:50", "*=0:5").status());
}

TEST(FaultInjectorTest, TheOddsHoldAndTheLimitStopsIt) {
  auto injector = FaultInjector::Parse("GcsService.KvPut=-1:20:30,*=5:100:0", "", /*seed=*/7);
  ASSERT_OK(injector.status());
  int requests = 0, replies = 0;
  for (int i = 0; i < 10'000; ++i) {
    InjectedFault fault = (*injector)->Decide("GcsService.KvPut");
    requests += fault.kind == InjectedFault::kDropRequest;
    replies += fault.kind == InjectedFault::kDropReply;
  }
  EXPECT_NEAR(requests, 2'000, 200);
  EXPECT_NEAR(replies, 3'000, 200);
  // "*" covers the other methods, 5 times at most.
  int other = 0;
  for (int i = 0; i < 100; ++i) other += (*injector)->Decide("GcsService.KvGet").kind != InjectedFault::kNone;
  EXPECT_EQ(other, 5);
}

TEST(FaultInjectorTest, MethodNamesComeFromTheServiceAndTheRequest) {
  EXPECT_EQ(MethodName("orrery.rpc.GcsService", "RegisterNodeRequest"), "GcsService.RegisterNode");
}

TEST(FaultInjectionTest, ADroppedRequestIsNeverSeenAndARetryGetsThrough) {
  ASSERT_TRUE(kVariablesSet);
  std::atomic<int> runs{0};
  TestServer server;
  server.service().health_check = [&runs](const HealthCheckRequest&, HealthCheckReply*, ReplyCallback done) {
    ++runs;
    done(absl::OkStatus());
  };
  ASSERT_OK(server.Start());
  auto client = server.Client();
  EXPECT_THAT(client->CallSync(&Async::HealthCheck, HealthCheckRequest()),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("injected failure: the request was dropped")));
  EXPECT_EQ(runs.load(), 0);
  // The second (and last) drop, then the retry is sent.
  EXPECT_OK(client->CallSync(&Async::HealthCheck, HealthCheckRequest(), CallOptions{.retry = true}));
  EXPECT_EQ(runs.load(), 1);
}

TEST(FaultInjectionTest, ADroppedReplyIsRetriedAndAnsweredFromTheReplayCache) {
  std::atomic<int> runs{0};
  TestServer server;
  server.service().register_worker = [&runs](const RegisterWorkerRequest&, RegisterWorkerReply* reply,
                                             ReplyCallback done) {
    reply->set_node_ip("run-" + std::to_string(++runs));
    done(absl::OkStatus());
  };
  ASSERT_OK(server.Start());
  auto reply = server.Client()->CallSync(&Async::RegisterWorker, RegisterWorkerRequest(), CallOptions{.retry = true});
  ASSERT_OK(reply);
  EXPECT_EQ(reply->node_ip(), "run-1") << "the repeat was answered with the first run's reply";
  EXPECT_EQ(runs.load(), 1) << "the server applied the call once";
}

TEST(FaultInjectionTest, ADelayedCallIsSentAfterItsDelay) {
  TestServer server;
  ASSERT_OK(server.Start());
  auto start = std::chrono::steady_clock::now();
  EXPECT_OK(server.Client()->CallSync(&Async::ReturnWorker, ReturnWorkerRequest()));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
}

}  // namespace
}  // namespace orrery::rpc
