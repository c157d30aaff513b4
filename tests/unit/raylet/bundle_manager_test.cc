// A node's side of the two-phase commit: prepare sets resources aside all-or-none, commit
// makes them usable under the group's names, cancel gives everything back and ends the
// leases that used them; every step may be repeated.
#include "src/raylet/bundle_manager.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace orrery::raylet {
namespace {

ResourceSet Set(std::unordered_map<std::string, double> values) { return ResourceSet::FromDoubles(values).value(); }

rpc::BundleSpec Spec(const PlacementGroupId& group, int index, std::unordered_map<std::string, double> resources) {
  rpc::BundleSpec spec;
  spec.set_placement_group_id(group.Binary());
  spec.set_index(index);
  Set(resources).ToProto(spec.mutable_resources());
  return spec;
}

template <typename Request>
Request Of(std::vector<rpc::BundleSpec> specs) {
  Request request;
  for (auto& spec : specs) *request.add_bundles() = std::move(spec);
  return request;
}

class BundleManagerTest : public ::testing::Test {
 protected:
  NodeResources resources_{Set({{"CPU", 4}, {"memory", 100}})};
  std::vector<PlacementGroupId> ended_;
  BundleManager bundles_{resources_, [this](const PlacementGroupId& group) { ended_.push_back(group); }};
  PlacementGroupId group_ = PlacementGroupId::FromRandom();

  // Whether every group in `request` was prepared.
  bool Prepared(const rpc::PrepareBundlesRequest& request) {
    auto reply = bundles_.Prepare(request);
    if (!reply.ok()) return false;
    for (const auto& result : reply->results()) {
      if (!result.success()) return false;
    }
    return true;
  }
};

TEST_F(BundleManagerTest, PrepareSetsResourcesAsideAndCommitAddsTheGroupsNames) {
  auto prepare = Of<rpc::PrepareBundlesRequest>({Spec(group_, 0, {{"CPU", 1}}), Spec(group_, 1, {{"CPU", 2}})});
  ASSERT_TRUE(Prepared(prepare));
  EXPECT_EQ(resources_.available().Get("CPU"), FixedPoint::FromInt(1));
  EXPECT_EQ(resources_.total().Get(GroupResourceName("CPU", group_, 0)), FixedPoint());  // not usable yet
  ASSERT_TRUE(Prepared(prepare));  // a retry takes nothing more
  EXPECT_EQ(resources_.available().Get("CPU"), FixedPoint::FromInt(1));

  auto commit = Of<rpc::CommitBundlesRequest>({Spec(group_, 0, {{"CPU", 1}}), Spec(group_, 1, {{"CPU", 2}})});
  ASSERT_TRUE(bundles_.Commit(commit).ok());
  ASSERT_TRUE(bundles_.Commit(commit).ok());  // and so does a repeated commit
  EXPECT_EQ(resources_.available().Get(GroupResourceName("CPU", group_, 0)), FixedPoint::FromInt(1));
  EXPECT_EQ(resources_.available().Get(GroupResourceName("CPU", group_, 1)), FixedPoint::FromInt(2));
  EXPECT_EQ(resources_.available().Get(GroupResourceName("CPU", group_, -1)), FixedPoint::FromInt(3));
  // A task in bundle 1 fits its bundle, and one asking for more than the bundle does not.
  EXPECT_TRUE(resources_.Allocate(GroupDemand(Set({{"CPU", 2}}), group_, 1)).has_value());
  EXPECT_FALSE(resources_.Allocate(GroupDemand(Set({{"CPU", 2}}), group_, 0)).has_value());
  EXPECT_EQ(bundles_.num_committed(), 2u);
}

TEST_F(BundleManagerTest, AGroupThatDoesNotFitTakesNothingAndSaysWhatWasMissing) {
  PlacementGroupId small = PlacementGroupId::FromRandom();
  // Two groups in one call: the first does not fit, the second does.
  auto prepare = Of<rpc::PrepareBundlesRequest>(
      {Spec(group_, 0, {{"CPU", 3}}), Spec(group_, 1, {{"CPU", 2}}), Spec(small, 0, {{"CPU", 1}})});
  auto reply = bundles_.Prepare(prepare);
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->results_size(), 2);
  EXPECT_EQ(reply->results(0).placement_group_id(), group_.Binary());
  EXPECT_FALSE(reply->results(0).success());
  EXPECT_NE(reply->results(0).reason().find("bundle 1 needs {CPU: 2}"), std::string::npos) << reply->results(0).reason();
  EXPECT_TRUE(reply->results(1).success());
  EXPECT_EQ(resources_.available().Get("CPU"), FixedPoint::FromInt(3));  // only the small group's
  EXPECT_EQ(bundles_.num_prepared(), 1u);
}

TEST_F(BundleManagerTest, CommittingABundleNeverPreparedIsRefused) {
  absl::Status status = bundles_.Commit(Of<rpc::CommitBundlesRequest>({Spec(group_, 0, {{"CPU", 1}})}));
  EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
  EXPECT_EQ(resources_.total(), Set({{"CPU", 4}, {"memory", 100}}));
}

TEST_F(BundleManagerTest, CancelEndsTheGroupsLeasesAndGivesEverythingBack) {
  ResourceSet before = resources_.total();
  ASSERT_TRUE(Prepared(Of<rpc::PrepareBundlesRequest>({Spec(group_, 0, {{"CPU", 2}, {"memory", 50}})})));
  ASSERT_TRUE(bundles_.Commit(Of<rpc::CommitBundlesRequest>({Spec(group_, 0, {{"CPU", 2}, {"memory", 50}})})).ok());
  bundles_.Cancel(Of<rpc::CancelBundlesRequest>({Spec(group_, 0, {{"CPU", 2}, {"memory", 50}})}));
  EXPECT_EQ(ended_, std::vector<PlacementGroupId>{group_});
  EXPECT_EQ(resources_.total(), before);
  EXPECT_EQ(resources_.available(), before);
  bundles_.Cancel(Of<rpc::CancelBundlesRequest>({Spec(group_, 0, {{"CPU", 2}, {"memory", 50}})}));  // a retry
  EXPECT_EQ(resources_.available(), before);
  EXPECT_EQ(ended_.size(), 1u);
}

TEST_F(BundleManagerTest, CancellingAPreparedBundleEndsNoLease) {
  ASSERT_TRUE(Prepared(Of<rpc::PrepareBundlesRequest>({Spec(group_, 0, {{"CPU", 1}})})));
  bundles_.Cancel(Of<rpc::CancelBundlesRequest>({Spec(group_, 0, {{"CPU", 1}})}));
  EXPECT_TRUE(ended_.empty());
  EXPECT_EQ(resources_.available().Get("CPU"), FixedPoint::FromInt(4));
}

TEST_F(BundleManagerTest, CancellingAllButTheListedKeepsExactlyThoseAndFreesTheRest) {
  PlacementGroupId kept = PlacementGroupId::FromRandom();
  PlacementGroupId orphan = PlacementGroupId::FromRandom();
  auto prepare = Of<rpc::PrepareBundlesRequest>(
      {Spec(kept, 0, {{"CPU", 1}}), Spec(kept, 1, {{"CPU", 1}}), Spec(orphan, 0, {{"CPU", 1}})});
  ASSERT_TRUE(Prepared(prepare));
  ASSERT_TRUE(bundles_.Commit(Of<rpc::CommitBundlesRequest>({Spec(kept, 0, {{"CPU", 1}}), Spec(kept, 1, {{"CPU", 1}}),
                                                             Spec(orphan, 0, {{"CPU", 1}})}))
                  .ok());
  // A restarted GCS knows only bundle 0 of `kept` (bundle 1 was a prepare it had not stored).
  auto request = Of<rpc::CancelBundlesRequest>({Spec(kept, 0, {{"CPU", 1}})});
  request.set_all_but_these(true);
  bundles_.Cancel(request);
  EXPECT_EQ(bundles_.num_committed(), 1u);
  EXPECT_EQ(resources_.available().Get("CPU"), FixedPoint::FromInt(3));
  EXPECT_EQ(resources_.available().Get(GroupResourceName("CPU", kept, 0)), FixedPoint::FromInt(1));
  EXPECT_EQ(resources_.total().Get(GroupResourceName("CPU", orphan, 0)), FixedPoint());
}

TEST_F(BundleManagerTest, MalformedBundlesAreRefusedByName) {
  rpc::BundleSpec bad = Spec(group_, 0, {{"CPU", 1}});
  bad.set_placement_group_id("short");
  EXPECT_TRUE(absl::IsInvalidArgument(bundles_.Prepare(Of<rpc::PrepareBundlesRequest>({bad})).status()));
  rpc::BundleSpec empty = Spec(group_, 0, {});
  absl::Status status = bundles_.Prepare(Of<rpc::PrepareBundlesRequest>({empty})).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_EQ(resources_.available(), resources_.total());
}

TEST(BundleGpus, ALeaseInABundleGetsTheGpusTheBundleReserved) {
  NodeResources resources(Set({{"CPU", 4}, {kGpu, 3}}));
  BundleManager bundles(resources, [](const PlacementGroupId&) {});
  PlacementGroupId group = PlacementGroupId::FromRandom();
  // GPU 0 is busy, so the bundle reserves GPUs 1 and 2.
  std::optional<Allocation> outside = resources.Allocate(Set({{kGpu, 1}}));
  ASSERT_TRUE(outside.has_value());
  EXPECT_EQ(outside->DevicesOf(kGpu), std::vector<int>({0}));
  ASSERT_TRUE(bundles.Prepare(Of<rpc::PrepareBundlesRequest>({Spec(group, 0, {{kGpu, 2}})})).ok());
  ASSERT_TRUE(bundles.Commit(Of<rpc::CommitBundlesRequest>({Spec(group, 0, {{kGpu, 2}})})).ok());
  resources.Release(*outside);  // GPU 0 is free again, but not the bundle's

  std::optional<Allocation> first = resources.Allocate(GroupDemand(Set({{kGpu, 1}}), group, 0));
  std::optional<Allocation> second = resources.Allocate(GroupDemand(Set({{kGpu, 1}}), group, 0));
  ASSERT_TRUE(first.has_value() && second.has_value());
  std::vector<int> both = first->DevicesOf(kGpu);
  both.push_back(second->DevicesOf(kGpu).at(0));
  std::sort(both.begin(), both.end());
  EXPECT_EQ(both, std::vector<int>({1, 2}));
  EXPECT_FALSE(resources.Allocate(GroupDemand(Set({{kGpu, 1}}), group, 0)).has_value());
  // Through "any bundle of the group", one of the group's devices too.
  resources.Release(*first);
  std::optional<Allocation> any = resources.Allocate(GroupDemand(Set({{kGpu, 1}}), group, -1));
  ASSERT_TRUE(any.has_value());
  EXPECT_THAT(any->DevicesOf(kGpu), ::testing::ElementsAre(::testing::AnyOf(1, 2)));
  resources.Release(*any);
  resources.Release(*second);

  bundles.Cancel(Of<rpc::CancelBundlesRequest>({Spec(group, 0, {{kGpu, 2}})}));
  std::optional<Allocation> all = resources.Allocate(Set({{kGpu, 3}}));
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->DevicesOf(kGpu), std::vector<int>({0, 1, 2}));
}

TEST(BundleGpus, TheOriginalNameOfAGroupResource) {
  PlacementGroupId group = PlacementGroupId::FromRandom();
  EXPECT_EQ(OriginalResourceOf(GroupResourceName(kGpu, group, 3)), kGpu);
  EXPECT_EQ(OriginalResourceOf(GroupResourceName(kGpu, group, -1)), kGpu);
  EXPECT_EQ(OriginalResourceOf(GroupResourceName("my_group_7", group, 12)), "my_group_7");
  EXPECT_EQ(OriginalResourceOf("my_group_7"), "my_group_7");
  EXPECT_EQ(OriginalResourceOf(kGpu), kGpu);
}

}  // namespace
}  // namespace orrery::raylet
