// Where each strategy puts a group's bundles, on fake clusters: PACK fills a node before the
// next, SPREAD uses a node per bundle while it can, the strict ones wait rather than bend, and
// a group placed again keeps its surviving bundles where they are.
#include "src/gcs/bundle_placement.h"

#include <set>

#include "gtest/gtest.h"

namespace orrery::gcs {
namespace {

ResourceSet Cpus(double n) { return ResourceSet::FromDoubles({{"CPU", n}}).value(); }

NodeRoom Node(double total, double free) { return NodeRoom{NodeId::FromRandom(), Cpus(total), Cpus(free)}; }

std::vector<ResourceSet> Bundles(int count, double cpus) { return std::vector<ResourceSet>(count, Cpus(cpus)); }

std::vector<NodeId> Unplaced(size_t count) { return std::vector<NodeId>(count); }

size_t Distinct(const std::vector<NodeId>& nodes) { return std::set<NodeId>(nodes.begin(), nodes.end()).size(); }

TEST(BundlePlacementTest, PackFillsOneNodeBeforeUsingAnother) {
  std::vector<NodeRoom> nodes = {Node(4, 4), Node(4, 4), Node(4, 4)};
  auto placed = PlaceBundles(Bundles(3, 1), Unplaced(3), rpc::PACK, nodes);
  ASSERT_TRUE(placed.ok()) << placed.status();
  EXPECT_EQ(Distinct(*placed), 1u);
  // Five one-CPU bundles do not fit on one 4-CPU node: four share one, the fifth goes on.
  placed = PlaceBundles(Bundles(5, 1), Unplaced(5), rpc::PACK, nodes);
  ASSERT_TRUE(placed.ok()) << placed.status();
  EXPECT_EQ(Distinct(*placed), 2u);
}

TEST(BundlePlacementTest, SpreadUsesANodePerBundleThenDoublesUp) {
  std::vector<NodeRoom> nodes = {Node(4, 4), Node(4, 4), Node(4, 4)};
  auto placed = PlaceBundles(Bundles(3, 1), Unplaced(3), rpc::SPREAD, nodes);
  ASSERT_TRUE(placed.ok()) << placed.status();
  EXPECT_EQ(Distinct(*placed), 3u);
  placed = PlaceBundles(Bundles(5, 1), Unplaced(5), rpc::SPREAD, nodes);
  ASSERT_TRUE(placed.ok()) << placed.status();
  EXPECT_EQ(Distinct(*placed), 3u);
}

TEST(BundlePlacementTest, StrictPackNeedsOneNodeWithRoomForAll) {
  std::vector<NodeRoom> nodes = {Node(4, 2), Node(4, 3)};
  auto placed = PlaceBundles(Bundles(3, 1), Unplaced(3), rpc::STRICT_PACK, nodes);
  ASSERT_TRUE(placed.ok()) << placed.status();
  EXPECT_EQ(Distinct(*placed), 1u);
  EXPECT_EQ((*placed)[0], nodes[1].id);
  // Four CPUs free nowhere now, though a node has four in total: wait.
  placed = PlaceBundles(Bundles(4, 1), Unplaced(4), rpc::STRICT_PACK, nodes);
  EXPECT_TRUE(absl::IsResourceExhausted(placed.status())) << placed.status();
  // Five CPUs on no node ever.
  placed = PlaceBundles(Bundles(5, 1), Unplaced(5), rpc::STRICT_PACK, nodes);
  EXPECT_TRUE(absl::IsFailedPrecondition(placed.status())) << placed.status();
}

TEST(BundlePlacementTest, StrictSpreadNeedsANodePerBundle) {
  std::vector<NodeRoom> nodes = {Node(4, 4), Node(4, 4), Node(4, 4)};
  auto placed = PlaceBundles(Bundles(3, 1), Unplaced(3), rpc::STRICT_SPREAD, nodes);
  ASSERT_TRUE(placed.ok()) << placed.status();
  EXPECT_EQ(Distinct(*placed), 3u);
  placed = PlaceBundles(Bundles(4, 1), Unplaced(4), rpc::STRICT_SPREAD, nodes);
  EXPECT_TRUE(absl::IsFailedPrecondition(placed.status())) << placed.status();
  EXPECT_NE(placed.status().message().find("needs 4 nodes"), std::string::npos) << placed.status();
  // Enough nodes, but one is full now: wait for it.
  nodes[2].available = ResourceSet();
  placed = PlaceBundles(Bundles(3, 1), Unplaced(3), rpc::STRICT_SPREAD, nodes);
  EXPECT_TRUE(absl::IsResourceExhausted(placed.status())) << placed.status();
}

TEST(BundlePlacementTest, ResourcesTakenByEarlierBundlesCountForLaterOnes) {
  std::vector<NodeRoom> nodes = {Node(2, 2), Node(2, 2)};
  auto placed = PlaceBundles(Bundles(2, 2), Unplaced(2), rpc::PACK, nodes);
  ASSERT_TRUE(placed.ok()) << placed.status();
  EXPECT_EQ(Distinct(*placed), 2u);
  placed = PlaceBundles(Bundles(3, 2), Unplaced(3), rpc::PACK, nodes);
  EXPECT_TRUE(absl::IsResourceExhausted(placed.status())) << placed.status();
}

TEST(BundlePlacementTest, ReschedulingKeepsSurvivorsAndAvoidsTheirNodesWhenStrictSpread) {
  std::vector<NodeRoom> nodes = {Node(4, 4), Node(4, 4), Node(4, 4)};
  std::vector<NodeId> placed = {nodes[0].id, NodeId(), nodes[1].id};
  auto again = PlaceBundles(Bundles(3, 1), placed, rpc::STRICT_SPREAD, nodes);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)[0], nodes[0].id);
  EXPECT_EQ((*again)[1], nodes[2].id);
  EXPECT_EQ((*again)[2], nodes[1].id);
  // STRICT_PACK goes back to the node holding the rest.
  placed = {NodeId(), nodes[1].id};
  again = PlaceBundles(Bundles(2, 1), placed, rpc::STRICT_PACK, nodes);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)[0], nodes[1].id);
}

TEST(BundlePlacementTest, CustomResourcesOnlyGoWhereTheyExist) {
  std::vector<NodeRoom> nodes = {Node(4, 4), Node(4, 4)};
  ResourceSet special = ResourceSet::FromDoubles({{"special", 1}}).value();
  nodes[1].total += special;
  nodes[1].available += special;
  auto placed = PlaceBundles({special, Cpus(1)}, Unplaced(2), rpc::SPREAD, nodes);
  ASSERT_TRUE(placed.ok()) << placed.status();
  EXPECT_EQ((*placed)[0], nodes[1].id);
  EXPECT_EQ((*placed)[1], nodes[0].id);
}

}  // namespace
}  // namespace orrery::gcs
