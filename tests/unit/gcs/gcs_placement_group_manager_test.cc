// The GCS's two-phase commit against scripted raylets: a group is CREATED only once every
// node prepared and committed; one refusal rolls the others back; the commits of many groups
// to one node go out as one call; a removal cancels every bundle; a lost node sends its
// groups to RESCHEDULING and their bundles elsewhere; so does a bundle restored as placed that
// its node, registering again with a restarted GCS, does not hold.
#include "src/gcs/gcs_placement_group_manager.h"

#include <deque>
#include <map>
#include <optional>

#include "gtest/gtest.h"
#include "orrery/version.h"
#include "tests/unit/gcs/gcs_test_env.h"

namespace orrery::gcs {
namespace {

// A raylet whose calls wait until the test answers them.
class ScriptedRaylet : public raylet::BundleClient {
 public:
  void PrepareBundles(const rpc::PrepareBundlesRequest& request,
                      rpc::RpcCallback<rpc::PrepareBundlesReply> callback) override {
    prepares.push_back({request, std::move(callback)});
  }
  void CommitBundles(const rpc::CommitBundlesRequest& request,
                     rpc::RpcCallback<rpc::CommitBundlesReply> callback) override {
    commits.push_back({request, std::move(callback)});
  }
  void CancelBundles(const rpc::CancelBundlesRequest& request,
                     rpc::RpcCallback<rpc::CancelBundlesReply> callback) override {
    cancels.push_back(request);
    rpc::CancelBundlesReply reply;
    reply.set_in_report_seq(next_report_seq);
    callback(reply);
  }

  // Answers the oldest prepare call: yes for every group in it, or no (the node is full).
  void AnswerPrepare(bool yes) {
    auto call = std::move(prepares.front());
    prepares.pop_front();
    rpc::PrepareBundlesReply reply;
    for (const rpc::BundleSpec& spec : call.first.bundles()) {
      if (reply.results_size() > 0 &&
          reply.results(reply.results_size() - 1).placement_group_id() == spec.placement_group_id()) {
        continue;
      }
      rpc::PrepareBundlesReply::Result* result = reply.add_results();
      result->set_placement_group_id(spec.placement_group_id());
      result->set_success(yes);
      if (!yes) result->set_reason("full");
    }
    call.second(reply);
  }
  void AnswerCommit(absl::Status status = absl::OkStatus()) {
    auto call = std::move(commits.front());
    commits.pop_front();
    if (status.ok()) return call.second(rpc::CommitBundlesReply());
    call.second(status);
  }

  std::deque<std::pair<rpc::PrepareBundlesRequest, rpc::RpcCallback<rpc::PrepareBundlesReply>>> prepares;
  std::deque<std::pair<rpc::CommitBundlesRequest, rpc::RpcCallback<rpc::CommitBundlesReply>>> commits;
  std::vector<rpc::CancelBundlesRequest> cancels;
  // The number of the report that will show what this node does next.
  int64_t next_report_seq = 0;
};

class GcsPlacementGroupManagerTest : public ::testing::Test {
 protected:
  GcsPlacementGroupManagerTest() {
    for (int i = 0; i < 3; ++i) AddNode();
    resources_.AddReportListener([this](const NodeId& node, bool changed) { manager_.OnResourcesReported(node, changed); });
  }

  // Node `id`'s report number `seq`: `cpus` of its 2 CPUs free.
  void Report(const NodeId& id, int64_t seq, double cpus) {
    rpc::ReportResourceUsageRequest request;
    rpc::NodeResourceUsage* usage = request.mutable_usage();
    usage->set_node_id(id.Binary());
    usage->set_report_seq(seq);
    ResourceSet::FromDoubles({{"CPU", 2}}).value().ToProto(usage->mutable_total());
    // A resource with none free is left out.
    if (cpus > 0) ResourceSet::FromDoubles({{"CPU", cpus}}).value().ToProto(usage->mutable_available());
    auto reply = env_.Call<rpc::ReportResourceUsageRequest, rpc::ReportResourceUsageReply>(
        [this](auto& q, auto* r, auto done) { resources_.HandleReportResourceUsage(q, r, done); }, request);
    EXPECT_TRUE(reply.ok()) << reply.status();
  }

  NodeId AddNode() {
    rpc::NodeInfo node;
    NodeId id = NodeId::FromRandom();
    node.set_node_id(id.Binary());
    node.set_node_ip("10.0.0.1");
    node.set_node_manager_port(4000 + static_cast<int>(raylets_.size()));
    node.set_version(ORRERY_VERSION_STRING);
    (*node.mutable_total_resources()->mutable_quantities())["CPU"] = FixedPoint::FromInt(2).raw();
    rpc::RegisterNodeRequest request;
    *request.mutable_node() = node;
    EXPECT_TRUE((env_.Call<rpc::RegisterNodeRequest, rpc::RegisterNodeReply>(
                     [this](auto& q, auto* r, auto done) { nodes_.HandleRegisterNode(q, r, done); }, request))
                    .ok());
    raylets_[id] = std::make_shared<ScriptedRaylet>();
    order_.push_back(id);
    return id;
  }

  PlacementGroupId Create(int bundles, rpc::PlacementStrategy strategy, double cpus = 1) {
    PlacementGroupId id = PlacementGroupId::FromRandom();
    rpc::CreatePlacementGroupRequest request;
    rpc::PlacementGroupInfo* group = request.mutable_group();
    group->set_placement_group_id(id.Binary());
    group->set_job_id(JobIdFromInt(1).Binary());
    group->set_strategy(strategy);
    for (int i = 0; i < bundles; ++i) {
      rpc::Bundle* bundle = group->add_bundles();
      bundle->set_index(i);
      ResourceSet::FromDoubles({{"CPU", cpus}}).value().ToProto(bundle->mutable_resources());
    }
    auto reply = env_.Call<rpc::CreatePlacementGroupRequest, rpc::CreatePlacementGroupReply>(
        [this](auto& q, auto* r, auto done) { manager_.HandleCreatePlacementGroup(q, r, done); }, request);
    EXPECT_TRUE(reply.ok()) << reply.status();
    return id;
  }

  rpc::PlacementGroupInfo Info(const PlacementGroupId& id) {
    rpc::GetPlacementGroupRequest request;
    request.set_placement_group_id(id.Binary());
    auto reply = env_.Call<rpc::GetPlacementGroupRequest, rpc::GetPlacementGroupReply>(
        [this](auto& q, auto* r, auto done) { manager_.HandleGetPlacementGroup(q, r, done); }, request);
    return reply->group();
  }

  void Remove(const PlacementGroupId& id) {
    rpc::RemovePlacementGroupRequest request;
    request.set_placement_group_id(id.Binary());
    auto reply = env_.Call<rpc::RemovePlacementGroupRequest, rpc::RemovePlacementGroupReply>(
        [this](auto& q, auto* r, auto done) { manager_.HandleRemovePlacementGroup(q, r, done); }, request);
    EXPECT_TRUE(reply.ok()) << reply.status();
  }

  // A group of `bundles` whose every prepare and commit the raylets answered yes: CREATED.
  PlacementGroupId CreatePlaced(int bundles, rpc::PlacementStrategy strategy) {
    PlacementGroupId id = Create(bundles, strategy);
    for (auto& [node, raylet] : raylets_) {
      while (!raylet->prepares.empty()) raylet->AnswerPrepare(true);
    }
    for (auto& [node, raylet] : raylets_) {
      while (!raylet->commits.empty()) raylet->AnswerCommit();
    }
    return id;
  }

  // The raylet holding bundle `index` of group `id`.
  ScriptedRaylet& RayletOf(const PlacementGroupId& id, int index) {
    return *raylets_.at(NodeId::FromBinary(Info(id).bundles(index).node_id()).value());
  }
  size_t PreparesSent() {
    size_t count = 0;
    for (auto& [id, raylet] : raylets_) count += raylet->prepares.size();
    return count;
  }

  GcsTestEnv env_;
  GcsNodeManager nodes_{env_.store, env_.publisher, ClusterId::FromRandom()};
  GcsResourceManager resources_{nodes_, env_.publisher, ClusterId::FromRandom(), 0};
  std::map<NodeId, std::shared_ptr<ScriptedRaylet>> raylets_;
  std::vector<NodeId> order_;
  GcsPlacementGroupManager manager_{
      env_.io, env_.store, nodes_, resources_,
      [this](const rpc::NodeInfo& node) { return raylets_.at(NodeId::FromBinary(node.node_id()).value()); },
      GcsPlacementGroupManager::Options{}};
};

TEST_F(GcsPlacementGroupManagerTest, AGroupIsCreatedOnlyOnceEveryNodePreparedAndCommitted) {
  PlacementGroupId id = Create(3, rpc::STRICT_SPREAD);
  ASSERT_EQ(PreparesSent(), 3u);
  EXPECT_EQ(Info(id).state(), rpc::PlacementGroupInfo::PENDING);
  for (auto& [node, raylet] : raylets_) raylet->AnswerPrepare(true);
  EXPECT_EQ(Info(id).state(), rpc::PlacementGroupInfo::PREPARED);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(RayletOf(id, i).commits.size(), 1u);
    RayletOf(id, i).AnswerCommit();
    EXPECT_EQ(Info(id).state(), i < 2 ? rpc::PlacementGroupInfo::PREPARED : rpc::PlacementGroupInfo::CREATED);
  }
}

TEST_F(GcsPlacementGroupManagerTest, OneRefusalRollsBackWhatTheOthersPrepared) {
  PlacementGroupId id = Create(3, rpc::STRICT_SPREAD);
  raylets_[order_[0]]->AnswerPrepare(true);
  raylets_[order_[1]]->AnswerPrepare(false);
  raylets_[order_[2]]->AnswerPrepare(true);
  rpc::PlacementGroupInfo info = Info(id);
  EXPECT_EQ(info.state(), rpc::PlacementGroupInfo::PENDING);
  EXPECT_NE(info.pending_reason().find("full"), std::string::npos) << info.pending_reason();
  EXPECT_EQ(raylets_[order_[0]]->cancels.size(), 1u);
  EXPECT_EQ(raylets_[order_[1]]->cancels.size(), 0u);  // it set nothing aside
  EXPECT_EQ(raylets_[order_[2]]->cancels.size(), 1u);
  for (auto& [node, raylet] : raylets_) EXPECT_TRUE(raylet->commits.empty());
}

TEST_F(GcsPlacementGroupManagerTest, PreparesAndCommitsOfManyGroupsToOneNodeGoOutTogether) {
  // One node left: every group goes there.
  nodes_.MarkNodeDead(order_[1], "test");
  nodes_.MarkNodeDead(order_[2], "test");
  std::vector<PlacementGroupId> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(Create(1, rpc::STRICT_PACK, 0.25));
  ScriptedRaylet& raylet = *raylets_.at(order_[0]);
  // The first prepare went alone; the other three waited for it and go as one call.
  ASSERT_EQ(raylet.prepares.size(), 1u);
  raylet.AnswerPrepare(true);
  ASSERT_EQ(raylet.prepares.size(), 1u);
  EXPECT_EQ(raylet.prepares.front().first.bundles_size(), 3);
  raylet.AnswerPrepare(true);
  // The first commit went alone; the other three waited for it and go as one call.
  ASSERT_EQ(raylet.commits.size(), 1u);
  raylet.AnswerCommit();
  ASSERT_EQ(raylet.commits.size(), 1u);
  EXPECT_EQ(raylet.commits.front().first.bundles_size(), 3);
  raylet.AnswerCommit();
  for (const PlacementGroupId& id : ids) EXPECT_EQ(Info(id).state(), rpc::PlacementGroupInfo::CREATED);
}

TEST_F(GcsPlacementGroupManagerTest, RemovalCancelsEveryBundleAndIsIdempotent) {
  PlacementGroupId id = CreatePlaced(2, rpc::STRICT_SPREAD);
  ASSERT_EQ(Info(id).state(), rpc::PlacementGroupInfo::CREATED);
  ScriptedRaylet* holders[] = {&RayletOf(id, 0), &RayletOf(id, 1)};
  Remove(id);
  Remove(id);
  EXPECT_EQ(Info(id).state(), rpc::PlacementGroupInfo::REMOVED);
  for (ScriptedRaylet* raylet : holders) EXPECT_EQ(raylet->cancels.size(), 1u);
}

TEST_F(GcsPlacementGroupManagerTest, APrepareAnsweredAfterRemovalIsUndone) {
  PlacementGroupId id = Create(1, rpc::PACK);
  ASSERT_EQ(PreparesSent(), 1u);
  Remove(id);
  for (auto& [node, raylet] : raylets_) {
    if (raylet->prepares.empty()) continue;
    raylet->AnswerPrepare(true);
    EXPECT_EQ(raylet->cancels.size(), 1u);
    EXPECT_TRUE(raylet->commits.empty());
  }
  EXPECT_EQ(Info(id).state(), rpc::PlacementGroupInfo::REMOVED);
}

// Reports and answers travel as separate calls: a node's report built before it released a
// removed group's bundles can arrive after its answer. The room the removal freed still counts
// until the report the answer named arrives, so a SPREAD group made next uses every node; and
// a report overtaken by a newer one is not applied.
TEST_F(GcsPlacementGroupManagerTest, AReportOlderThanACancelsAnswerDoesNotHideTheRoomItFreed) {
  PlacementGroupId packed = CreatePlaced(2, rpc::STRICT_PACK);
  ASSERT_EQ(Info(packed).state(), rpc::PlacementGroupInfo::CREATED);
  NodeId full = NodeId::FromBinary(Info(packed).bundles(0).node_id()).value();
  Report(full, 1, 0);
  raylets_[full]->next_report_seq = 3;
  Remove(packed);
  ASSERT_EQ(raylets_[full]->cancels.size(), 1u);
  Report(full, 2, 0.5);  // built before the cancel: the bundles still there

  PlacementGroupId spread = Create(3, rpc::SPREAD);
  for (const NodeId& node : order_) {
    ASSERT_EQ(raylets_[node]->prepares.size(), 1u) << "node " << node.Hex();
    EXPECT_EQ(raylets_[node]->prepares.front().first.bundles_size(), 1);
    raylets_[node]->AnswerPrepare(true);
  }
  EXPECT_EQ(Info(spread).state(), rpc::PlacementGroupInfo::PREPARED);

  Report(full, 4, 1);
  Report(full, 3, 2);  // overtaken
  EXPECT_EQ(resources_.parsed().at(full).available.Get("CPU"), FixedPoint::FromInt(1));
  EXPECT_EQ(resources_.parsed().at(full).report_seq, 4);
}

TEST_F(GcsPlacementGroupManagerTest, ALostNodeSendsItsGroupToReschedulingAndItsBundleElsewhere) {
  PlacementGroupId id = CreatePlaced(2, rpc::STRICT_SPREAD);
  NodeId lost = NodeId::FromBinary(Info(id).bundles(0).node_id()).value();
  NodeId kept = NodeId::FromBinary(Info(id).bundles(1).node_id()).value();
  nodes_.MarkNodeDead(lost, "test");
  manager_.OnNodeDead(lost);
  EXPECT_EQ(Info(id).state(), rpc::PlacementGroupInfo::RESCHEDULING);
  // Only the third node can take it (STRICT_SPREAD).
  NodeId third;
  for (const NodeId& node : order_) {
    if (node != lost && node != kept) third = node;
  }
  ASSERT_EQ(raylets_[third]->prepares.size(), 1u);
  EXPECT_EQ(raylets_[third]->prepares.front().first.bundles(0).index(), 0);
  raylets_[third]->AnswerPrepare(true);
  // Every bundle is committed again (a repeat is harmless), then the group is back.
  raylets_[third]->AnswerCommit();
  raylets_[kept]->AnswerCommit();
  rpc::PlacementGroupInfo info = Info(id);
  EXPECT_EQ(info.state(), rpc::PlacementGroupInfo::CREATED);
  EXPECT_EQ(info.bundles(0).node_id(), third.Binary());
  EXPECT_EQ(info.bundles(1).node_id(), kept.Binary());
}

// A GCS restored from storage older than the raylets' state: a node that registers again and
// does not hold a bundle restored as placed on it gets that bundle placed again; a node that
// holds its bundles keeps them, and neither report is acted on twice.
TEST_F(GcsPlacementGroupManagerTest, ARestoredBundleItsNodeDoesNotReportIsPlacedAgain) {
  PlacementGroupId id = CreatePlaced(2, rpc::STRICT_SPREAD);
  ASSERT_EQ(Info(id).state(), rpc::PlacementGroupInfo::CREATED);
  NodeId emptied = NodeId::FromBinary(Info(id).bundles(0).node_id()).value();
  NodeId holding = NodeId::FromBinary(Info(id).bundles(1).node_id()).value();
  NodeId third;
  for (const NodeId& node : order_) {
    if (node != emptied && node != holding) third = node;
  }

  GcsPlacementGroupManager restarted(
      env_.io, env_.store, nodes_, resources_,
      [this](const rpc::NodeInfo& node) { return raylets_.at(NodeId::FromBinary(node.node_id()).value()); },
      GcsPlacementGroupManager::Options{});
  std::optional<absl::Status> loaded;
  restarted.Load([&](absl::Status status) { loaded = status; });
  env_.RunUntil([&] { return loaded.has_value(); });
  ASSERT_TRUE(loaded.has_value() && loaded->ok());
  restarted.Reconcile();
  env_.RunAll();
  auto state = [&] {
    rpc::GetPlacementGroupRequest request;
    request.set_placement_group_id(id.Binary());
    auto reply = env_.Call<rpc::GetPlacementGroupRequest, rpc::GetPlacementGroupReply>(
        [&](auto& q, auto* r, auto done) { restarted.HandleGetPlacementGroup(q, r, done); }, request);
    return reply->group();
  };
  ASSERT_EQ(state().state(), rpc::PlacementGroupInfo::CREATED);

  rpc::HostedState holds_its_bundle;
  rpc::HostedBundle* held = holds_its_bundle.add_bundles();
  held->set_placement_group_id(id.Binary());
  held->set_bundle_index(1);
  restarted.OnNodeReported(holding, holds_its_bundle);
  EXPECT_EQ(state().state(), rpc::PlacementGroupInfo::CREATED);
  EXPECT_EQ(PreparesSent(), 0u);

  restarted.OnNodeReported(emptied, rpc::HostedState());
  EXPECT_EQ(state().state(), rpc::PlacementGroupInfo::RESCHEDULING);
  EXPECT_EQ(state().bundles(0).node_id(), "");
  EXPECT_EQ(state().bundles(1).node_id(), holding.Binary());
  // STRICT_SPREAD: bundle 0 may go to the emptied node or the third, not beside bundle 1.
  ASSERT_EQ(PreparesSent(), 1u);
  EXPECT_TRUE(raylets_[holding]->prepares.empty());
  NodeId target = raylets_[emptied]->prepares.empty() ? third : emptied;
  EXPECT_EQ(raylets_[target]->prepares.front().first.bundles(0).index(), 0);
  raylets_[target]->AnswerPrepare(true);
  while (!raylets_[target]->commits.empty()) raylets_[target]->AnswerCommit();
  while (!raylets_[holding]->commits.empty()) raylets_[holding]->AnswerCommit();
  EXPECT_EQ(state().state(), rpc::PlacementGroupInfo::CREATED);
  EXPECT_EQ(state().bundles(0).node_id(), target.Binary());

  // A report repeated (a re-registration whose answer was lost) is not acted on again.
  restarted.OnNodeReported(target, rpc::HostedState());
  EXPECT_EQ(state().state(), rpc::PlacementGroupInfo::CREATED);
  restarted.Stop();
}

TEST_F(GcsPlacementGroupManagerTest, DuplicateNamesAndBadGroupsAreRefused) {
  rpc::CreatePlacementGroupRequest request;
  rpc::PlacementGroupInfo* group = request.mutable_group();
  group->set_placement_group_id(PlacementGroupId::FromRandom().Binary());
  group->set_job_id(JobIdFromInt(1).Binary());
  group->set_name("trainers");
  auto create = [this](const rpc::CreatePlacementGroupRequest& q) {
    return env_.Call<rpc::CreatePlacementGroupRequest, rpc::CreatePlacementGroupReply>(
        [this](auto& q, auto* r, auto done) { manager_.HandleCreatePlacementGroup(q, r, done); }, q);
  };
  EXPECT_TRUE(absl::IsInvalidArgument(create(request).status()));  // no bundles
  rpc::Bundle* bundle = group->add_bundles();
  ResourceSet::FromDoubles({{"CPU", 1}}).value().ToProto(bundle->mutable_resources());
  ASSERT_TRUE(create(request).ok());
  ASSERT_TRUE(create(request).ok());  // the same id again: a retry
  group->set_placement_group_id(PlacementGroupId::FromRandom().Binary());
  auto duplicate = create(request);
  EXPECT_TRUE(absl::IsAlreadyExists(duplicate.status())) << duplicate.status();
  EXPECT_NE(duplicate.status().message().find("trainers"), std::string::npos);
}

}  // namespace
}  // namespace orrery::gcs
