// A node's side of the two-phase commit: prepare sets resources aside all-or-none, commit
// makes them usable under the group's names, cancel gives everything back and ends the
// leases that used them; every step may be repeated.
#include "src/raylet/bundle_manager.h"

#include <vector>

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

TEST_F(BundleManagerTest, MalformedBundlesAreRefusedByName) {
  rpc::BundleSpec bad = Spec(group_, 0, {{"CPU", 1}});
  bad.set_placement_group_id("short");
  EXPECT_TRUE(absl::IsInvalidArgument(bundles_.Prepare(Of<rpc::PrepareBundlesRequest>({bad})).status()));
  rpc::BundleSpec empty = Spec(group_, 0, {});
  absl::Status status = bundles_.Prepare(Of<rpc::PrepareBundlesRequest>({empty})).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_EQ(resources_.available(), resources_.total());
}

}  // namespace
}  // namespace orrery::raylet
