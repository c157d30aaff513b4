// Health checks: a node is declared dead after a run of missed checks (not after scattered
// ones), with the reason, and a removed node is no longer checked.
#include "src/gcs/gcs_health_checker.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/raylet/client/fake_raylet_client.h"

namespace orrery::gcs {
namespace {

using ::testing::HasSubstr;

class GcsHealthCheckerTest : public ::testing::Test {
 protected:
  GcsHealthCheckerTest()
      : checker_(io_, {/*period_ms=*/1, /*timeout_ms=*/0, /*failure_threshold=*/3},
                 [this](const std::string& address) {
                   auto client = std::make_shared<raylet::FakeRayletClient>();
                   clients_[address] = client;
                   return client;
                 },
                 [this](const NodeId& node, const std::string& reason) { deaths_.emplace_back(node, reason); }) {}

  // Drives the loop until node `address` has a health check waiting, and answers it.
  void Answer(const std::string& address, bool healthy) {
    auto& client = *clients_.at(address);
    for (int i = 0; i < 1000 && client.health_checks.empty(); ++i) io_.run_one_for(std::chrono::milliseconds(10));
    ASSERT_FALSE(client.health_checks.empty()) << "no health check was issued";
    auto [timeout, callback] = std::move(client.health_checks.front());
    client.health_checks.pop_front();
    EXPECT_EQ(timeout, 1);  // the timeout defaults to the period
    if (healthy) {
      callback(rpc::HealthCheckReply());
    } else {
      callback(absl::UnavailableError("connection refused"));
    }
  }

  boost::asio::io_context io_;
  std::map<std::string, std::shared_ptr<raylet::FakeRayletClient>> clients_;
  std::vector<std::pair<NodeId, std::string>> deaths_;
  GcsHealthChecker checker_;
};

TEST_F(GcsHealthCheckerTest, ANodeIsDeadAfterThresholdMissesInARow) {
  NodeId node = NodeId::FromRandom();
  checker_.AddNode(node, "a:1");
  Answer("a:1", false);
  Answer("a:1", false);
  EXPECT_TRUE(deaths_.empty());
  Answer("a:1", false);
  ASSERT_EQ(deaths_.size(), 1u);
  EXPECT_EQ(deaths_[0].first, node);
  EXPECT_THAT(deaths_[0].second, HasSubstr("missed 3 health checks in a row"));
  EXPECT_THAT(deaths_[0].second, HasSubstr("connection refused"));
  EXPECT_EQ(checker_.num_watched(), 0u);
}

TEST_F(GcsHealthCheckerTest, AnAnsweredCheckStartsTheCountAgain) {
  NodeId node = NodeId::FromRandom();
  checker_.AddNode(node, "a:1");
  Answer("a:1", false);
  Answer("a:1", false);
  Answer("a:1", true);
  Answer("a:1", false);
  Answer("a:1", false);
  EXPECT_TRUE(deaths_.empty());
  Answer("a:1", false);
  EXPECT_EQ(deaths_.size(), 1u);
}

TEST_F(GcsHealthCheckerTest, ARemovedNodeIsNoLongerCheckedAndLateAnswersAreIgnored) {
  NodeId node = NodeId::FromRandom();
  checker_.AddNode(node, "a:1");
  auto& client = *clients_.at("a:1");
  for (int i = 0; i < 1000 && client.health_checks.empty(); ++i) io_.run_one_for(std::chrono::milliseconds(10));
  ASSERT_EQ(client.health_checks.size(), 1u);
  checker_.RemoveNode(node);
  for (int i = 0; i < 5; ++i) client.health_checks.front().second(absl::UnavailableError("late"));
  io_.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(client.health_checks.size(), 1u);  // nothing new was asked
  EXPECT_TRUE(deaths_.empty());
}

}  // namespace
}  // namespace orrery::gcs
