// A node's resources: exact fixed-point accounting, GPUs handed out by instance (fractions
// packed onto one device, whole ones on free devices), and CPUs lent by blocked workers.
#include "src/raylet/node_resources.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace orrery::raylet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ResourceSet Set(std::unordered_map<std::string, double> values) {
  return ResourceSet::FromDoubles(values).value();
}

TEST(NodeResourcesTest, FractionsAddUpExactly) {
  NodeResources node(Set({{"CPU", 1}}));
  std::vector<Allocation> held;
  for (int i = 0; i < 10; ++i) {
    auto a = node.Allocate(Set({{"CPU", 0.1}}));
    ASSERT_TRUE(a.has_value()) << i;
    held.push_back(*a);
  }
  EXPECT_FALSE(node.Allocate(Set({{"CPU", 0.1}})).has_value());
  for (const auto& a : held) node.Release(a);
  EXPECT_EQ(node.available(), node.total());
}

TEST(NodeResourcesTest, GpuFractionsShareOneDeviceAndWholeOnesTakeFreeDevices) {
  NodeResources node(Set({{"GPU", 3}}));
  auto half_a = node.Allocate(Set({{"GPU", 0.5}}));
  auto half_b = node.Allocate(Set({{"GPU", 0.5}}));
  ASSERT_TRUE(half_a && half_b);
  // Best fit: the second half goes on the device the first half started.
  EXPECT_EQ(half_a->InstanceIds(kGpu), half_b->InstanceIds(kGpu));
  auto two = node.Allocate(Set({{"GPU", 2}}));
  ASSERT_TRUE(two.has_value());
  EXPECT_EQ(two->InstanceIds(kGpu).size(), 2u);
  EXPECT_THAT(two->InstanceIds(kGpu), ::testing::Not(::testing::Contains(half_a->InstanceIds(kGpu)[0])));
  EXPECT_FALSE(node.Allocate(Set({{"GPU", 0.1}})).has_value());
  node.Release(*half_a);
  auto again = node.Allocate(Set({{"GPU", 0.5}}));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->InstanceIds(kGpu), half_b->InstanceIds(kGpu));
}

TEST(NodeResourcesTest, AWholeGpuNeedsAnUntouchedDevice) {
  NodeResources node(Set({{"GPU", 2}}));
  auto a = node.Allocate(Set({{"GPU", 0.5}}));
  auto b = node.Allocate(Set({{"GPU", 1}}));
  ASSERT_TRUE(a && b);
  // 0.5 GPU is free in total, but no whole device is.
  EXPECT_FALSE(node.Allocate(Set({{"GPU", 1}})).has_value());
  EXPECT_THAT(b->InstanceIds(kGpu), ::testing::Not(::testing::Contains(a->InstanceIds(kGpu)[0])));
}

TEST(NodeResourcesTest, FailedAllocationsTouchNothing) {
  NodeResources node(Set({{"CPU", 2}, {"GPU", 1}}));
  EXPECT_FALSE(node.Allocate(Set({{"CPU", 1}, {"GPU", 2}})).has_value());
  EXPECT_EQ(node.available(), node.total());
}

TEST(NodeResourcesTest, ChecksWhatCanEverFitAndTheShapeOfGpuDemands) {
  NodeResources node(Set({{"CPU", 2}}));
  EXPECT_OK(node.CheckFeasible(Set({{"CPU", 2}})));
  EXPECT_THAT(node.CheckFeasible(Set({{"CPU", 3}})),
              testing::StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("this node has 2")));
  EXPECT_THAT(node.CheckFeasible(Set({{"disk", 1}})), testing::StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_OK(NodeResources::ValidateDemand(Set({{"GPU", 0.25}})));
  EXPECT_OK(NodeResources::ValidateDemand(Set({{"GPU", 2}})));
  EXPECT_THAT(NodeResources::ValidateDemand(Set({{"GPU", 1.5}})),
              testing::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("whole number")));
}

TEST(NodeResourcesTest, LentCpusCanBeReclaimedBeyondWhatIsFree) {
  NodeResources node(Set({{"CPU", 1}}));
  auto held = node.Allocate(Set({{"CPU", 1}}));
  ASSERT_TRUE(held.has_value());
  node.Lend(Set({{"CPU", 1}}));
  auto borrower = node.Allocate(Set({{"CPU", 1}}));
  ASSERT_TRUE(borrower.has_value());
  node.Reclaim(Set({{"CPU", 1}}));
  EXPECT_EQ(node.available().Get(kCpu), FixedPoint::FromInt(-1));
  EXPECT_FALSE(node.Allocate(Set({{"CPU", 0.5}})).has_value());
  node.Release(*borrower);
  node.Release(*held);
  EXPECT_EQ(node.available(), node.total());
}

}  // namespace
}  // namespace orrery::raylet
