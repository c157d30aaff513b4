// The raylets of other nodes (remote_raylets.h): one client per raylet, shared by whoever asks,
// and a raylet that does not answer given up on within the remote budget, not the default one.
#include "src/core_worker/remote_raylets.h"

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace orrery::core {
namespace {

// Port 1 (tcpmux) is closed on any machine that runs the tests: connecting is refused at once.
constexpr char kNobody[] = "127.0.0.1:1";

TEST(RemoteRayletsTest, EveryoneAskingForOneRayletGetsTheSameClient) {
  RemoteRaylets raylets(rpc::ClientOptions{});
  auto first = raylets.At("10.0.0.7:4000");
  EXPECT_EQ(raylets.At("10.0.0.7:4000"), first);
  EXPECT_NE(raylets.At("10.0.0.8:4000"), first);
}

TEST(RemoteRayletsTest, StopDropsTheClientsAndALaterAskMakesANewOne) {
  RemoteRaylets raylets(rpc::ClientOptions{});
  auto before = raylets.At("10.0.0.7:4000");
  raylets.Stop();
  EXPECT_NE(raylets.At("10.0.0.7:4000"), before);
}

TEST(RemoteRayletsTest, ARayletThatDoesNotAnswerIsGivenUpOnWithinTheRemoteBudget) {
  rpc::ClientOptions options;
  options.rpc.retry_budget_ms = 60'000;  // what a call to the local raylet may take
  RemoteRaylets raylets(options, /*retry_budget_ms=*/500);
  rpc::FreeObjectsRequest request;
  rpc::CallOptions call;
  call.retry = true;
  absl::Notification done;
  absl::Status status;
  absl::Time start = absl::Now();
  raylets.At(kNobody)->client().Call(&rpc::NodeManagerService::Stub::async::FreeObjects, request, call,
                                     [&](absl::StatusOr<rpc::FreeObjectsReply> reply) {
                                       status = reply.status();
                                       done.Notify();
                                     });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(std::string(status.message()), testing::HasSubstr(std::string("raylet at ") + kNobody));
  // Retried for about half a second (back-off included), far short of the 60 s budget.
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

}  // namespace
}  // namespace orrery::core
