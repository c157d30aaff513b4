// The node table: validation, version check, idempotent registration, death and its
// publication, and what a dead node may no longer do.
#include "src/gcs/gcs_node_manager.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orrery/version.h"
#include "src/common/fixed_point.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/gcs/gcs_test_env.h"

namespace orrery::gcs {
namespace {

using ::testing::HasSubstr;
using testing::StatusIs;

class GcsNodeManagerTest : public ::testing::Test {
 protected:
  GcsNodeManagerTest()
      : nodes_(env_.store, env_.publisher, ClusterId::FromRandom(), "instance-1", /*max_dead_nodes=*/2) {
    env_.publisher.RegisterChannel(rpc::NODE, true, [this] { return nodes_.Snapshot(); });
    nodes_.AddNodeAddedListener([this](const rpc::NodeInfo& node) { added_.push_back(node.node_id()); });
    nodes_.AddNodeRemovedListener([this](const rpc::NodeInfo& node) { removed_.push_back(node.node_id()); });
    nodes_.AddNodeReportListener([this](const NodeId& node, const rpc::HostedState& hosted) {
      reported_.emplace_back(node.Binary(), hosted.leases_size());
    });
    rpc::SubscribeRequest request;
    request.add_channels()->set_channel(rpc::NODE);
    EXPECT_OK(env_.publisher.Subscribe(sink_, request));
    sink_->received.clear();
  }

  rpc::NodeInfo Node() {
    rpc::NodeInfo node;
    node.set_node_id(NodeId::FromRandom().Binary());
    node.set_node_ip("10.0.0.1");
    node.set_node_manager_port(4000);
    node.set_version(ORRERY_VERSION_STRING);
    (*node.mutable_total_resources()->mutable_quantities())["CPU"] = FixedPoint::FromInt(4).raw();
    return node;
  }

  absl::StatusOr<rpc::RegisterNodeReply> Register(const rpc::RegisterNodeRequest& request) {
    return env_.Call<rpc::RegisterNodeRequest, rpc::RegisterNodeReply>(
        [this](auto& q, auto* r, auto done) { nodes_.HandleRegisterNode(q, r, done); }, request);
  }
  absl::Status Register(const rpc::NodeInfo& node) {
    rpc::RegisterNodeRequest request;
    *request.mutable_node() = node;
    return Register(request).status();
  }

  size_t AliveCount() {
    auto reply = env_.Call<rpc::GetAllNodesRequest, rpc::GetAllNodesReply>(
        [this](auto& q, auto* r, auto done) { nodes_.HandleGetAllNodes(q, r, done); }, rpc::GetAllNodesRequest());
    return reply.ok() ? static_cast<size_t>(reply->nodes_size()) : 0;
  }

  GcsTestEnv env_;
  GcsNodeManager nodes_;
  std::shared_ptr<RecordingSink> sink_ = std::make_shared<RecordingSink>();
  std::vector<std::string> added_, removed_;
  std::vector<std::pair<std::string, int>> reported_;  // (node, leases reported)
};

TEST_F(GcsNodeManagerTest, RegisteringPublishesTheNodeAndTellsListenersOnce) {
  rpc::NodeInfo node = Node();
  ASSERT_OK(Register(node));
  ASSERT_OK(Register(node));
  EXPECT_EQ(AliveCount(), 1u);
  EXPECT_EQ(added_.size(), 1u);
  ASSERT_FALSE(sink_->received.empty());
  EXPECT_EQ(sink_->received[0].node().node_id(), node.node_id());
  EXPECT_EQ(sink_->received[0].node().state(), rpc::NodeInfo::ALIVE);
  EXPECT_GT(sink_->received[0].node().start_time_ms(), 0);
}

// A raylet that registers again after a GCS restart says what it hosts; the reconcile hears it.
TEST_F(GcsNodeManagerTest, RegisteringAgainWithWhatTheNodeHostsTellsTheReportListeners) {
  rpc::RegisterNodeRequest request;
  *request.mutable_node() = Node();
  auto first = Register(request);
  ASSERT_OK(first);
  EXPECT_EQ(first->gcs_instance_id(), "instance-1");
  EXPECT_TRUE(reported_.empty()) << "a first registration reports nothing";

  request.set_cluster_id(first->cluster_id());
  rpc::HostedLease* lease = request.mutable_hosted()->add_leases();
  lease->set_lease_id(LeaseId::FromRandom().Binary());
  lease->set_worker_id(WorkerId::FromRandom().Binary());
  ASSERT_OK(Register(request));
  ASSERT_EQ(reported_.size(), 1u);
  EXPECT_EQ(reported_[0], std::make_pair(request.node().node_id(), 1));
  EXPECT_EQ(added_.size(), 1u) << "a node known already is not added again";

  // A node this GCS never knew (its storage is older than the node) is added, then reconciled.
  rpc::RegisterNodeRequest unknown = request;
  *unknown.mutable_node() = Node();
  ASSERT_OK(Register(unknown));
  EXPECT_EQ(added_.size(), 2u);
  ASSERT_EQ(reported_.size(), 2u);
  EXPECT_EQ(reported_[1].first, unknown.node().node_id());
}

TEST_F(GcsNodeManagerTest, RefusesAnotherVersionNamingBoth) {
  rpc::NodeInfo node = Node();
  node.set_version("9.9.9");
  EXPECT_THAT(Register(node), StatusIs(absl::StatusCode::kFailedPrecondition,
                                       ::testing::AllOf(HasSubstr("9.9.9"), HasSubstr(ORRERY_VERSION_STRING))));
  EXPECT_EQ(AliveCount(), 0u);
}

TEST_F(GcsNodeManagerTest, RefusesMalformedNodes) {
  rpc::NodeInfo bad_id = Node();
  bad_id.set_node_id("short");
  EXPECT_THAT(Register(bad_id), StatusIs(absl::StatusCode::kInvalidArgument));
  rpc::NodeInfo nil = Node();
  nil.set_node_id(NodeId::Nil().Binary());
  EXPECT_THAT(Register(nil), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nil")));
  rpc::NodeInfo no_ip = Node();
  no_ip.clear_node_ip();
  EXPECT_THAT(Register(no_ip), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("node_ip")));
}

TEST_F(GcsNodeManagerTest, ADeadNodeIsPublishedRemovedAndCannotReturn) {
  rpc::NodeInfo node = Node();
  ASSERT_OK(Register(node));
  sink_->received.clear();
  NodeId id = NodeId::FromBinary(node.node_id()).value();
  nodes_.MarkNodeDead(id, "missed health checks");
  nodes_.MarkNodeDead(id, "again");  // no-op
  ASSERT_EQ(sink_->received.size(), 1u);
  EXPECT_EQ(sink_->received[0].node().state(), rpc::NodeInfo::DEAD);
  EXPECT_EQ(sink_->received[0].node().death_reason(), "missed health checks");
  EXPECT_EQ(removed_.size(), 1u);
  EXPECT_EQ(AliveCount(), 0u);
  EXPECT_EQ(nodes_.GetAliveNode(id), nullptr);
  EXPECT_THAT(Register(node), StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("declared dead")));
}

TEST_F(GcsNodeManagerTest, UnregisteringMarksTheNodeDeadWithTheReason) {
  rpc::NodeInfo node = Node();
  ASSERT_OK(Register(node));
  rpc::UnregisterNodeRequest request;
  request.set_node_id(node.node_id());
  request.set_reason("orrery stop");
  ASSERT_OK((env_.Call<rpc::UnregisterNodeRequest, rpc::UnregisterNodeReply>(
                 [this](auto& q, auto* r, auto done) { nodes_.HandleUnregisterNode(q, r, done); }, request))
                .status());
  EXPECT_EQ(AliveCount(), 0u);
  request.set_node_id(NodeId::FromRandom().Binary());
  EXPECT_THAT((env_.Call<rpc::UnregisterNodeRequest, rpc::UnregisterNodeReply>(
                  [this](auto& q, auto* r, auto done) { nodes_.HandleUnregisterNode(q, r, done); }, request)),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(GcsNodeManagerTest, KeepsABoundedNumberOfDeadNodes) {
  for (int i = 0; i < 4; ++i) {
    rpc::NodeInfo node = Node();
    ASSERT_OK(Register(node));
    nodes_.MarkNodeDead(NodeId::FromBinary(node.node_id()).value(), "gone");
  }
  EXPECT_EQ(nodes_.AllNodes().size(), 2u);
}

TEST_F(GcsNodeManagerTest, ARestartedGcsRestoresTheTableFromStorage) {
  rpc::NodeInfo node = Node();
  ASSERT_OK(Register(node));
  GcsNodeManager restarted(env_.store, env_.publisher, ClusterId::FromRandom());
  std::vector<std::string> restored;
  restarted.AddNodeAddedListener([&](const rpc::NodeInfo& n) { restored.push_back(n.node_id()); });
  std::optional<absl::Status> loaded;
  restarted.Load([&](absl::Status status) { loaded = status; });
  env_.RunUntil([&] { return loaded.has_value(); });
  ASSERT_TRUE(loaded.has_value());
  ASSERT_OK(*loaded);
  EXPECT_THAT(restored, ::testing::ElementsAre(node.node_id()));
}

}  // namespace
}  // namespace orrery::gcs
