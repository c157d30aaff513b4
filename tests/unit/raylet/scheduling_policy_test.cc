// The hybrid policy on fake clusters: local below the threshold, the least-utilized node with
// room above it, local again when no node has room.
#include "src/raylet/scheduling_policy.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace orrery::raylet {
namespace {

ResourceSet Cpus(double n) { return ResourceSet::FromDoubles({{"CPU", n}}).value(); }

// A node with `total` CPUs of which `used` are taken.
NodeSnapshot Node(double total, double used) {
  NodeSnapshot node{NodeId::FromRandom(), Cpus(total), Cpus(total)};
  if (used > 0) node.available -= Cpus(used);
  return node;
}

TEST(SchedulingPolicyTest, UtilizationIsTheBusiestUsedFractionAmongTheResourcesAskedFor) {
  NodeSnapshot node = Node(4, 1);
  EXPECT_DOUBLE_EQ(Utilization(node, Cpus(1)), 0.25);
  node.total += ResourceSet::FromDoubles({{"GPU", 2}}).value();  // both GPUs in use
  EXPECT_DOUBLE_EQ(Utilization(node, Cpus(1)), 0.25);            // still idle enough for CPU work
  EXPECT_DOUBLE_EQ(Utilization(node, ResourceSet::FromDoubles({{"CPU", 1}, {"GPU", 1}}).value()), 1.0);
  // A blocked worker's lent CPUs can drive available below zero: still just full.
  EXPECT_DOUBLE_EQ(Utilization(Node(2, 3), Cpus(1)), 1.0);
}

TEST(SchedulingPolicyTest, StaysLocalBelowTheThresholdEvenWhenOthersAreIdler) {
  NodeSnapshot local = Node(4, 1);
  std::vector<NodeSnapshot> others = {Node(4, 0), Node(4, 0)};
  EXPECT_EQ(PickNode(Cpus(1), local, others, 0.5), local.id);
}

TEST(SchedulingPolicyTest, AtTheThresholdGoesToTheLeastUtilizedNodeWithRoom) {
  NodeSnapshot local = Node(4, 2);
  std::vector<NodeSnapshot> others = {Node(4, 3), Node(4, 1), Node(1, 0)};
  // The idle 1-CPU node has room for one CPU, and nothing is less used.
  EXPECT_EQ(PickNode(Cpus(1), local, others, 0.5), others[2].id);
  // It cannot hold two: the 4-CPU node at 25% is next.
  EXPECT_EQ(PickNode(Cpus(2), local, others, 0.5), others[1].id);
}

TEST(SchedulingPolicyTest, AboveTheThresholdLocalWinsAmongEquals) {
  NodeSnapshot local = Node(2, 1);
  std::vector<NodeSnapshot> others = {Node(2, 1), Node(4, 2)};
  EXPECT_EQ(PickNode(Cpus(1), local, others, 0.5), local.id);
}

TEST(SchedulingPolicyTest, QueuesLocallyWhenNoNodeHasRoomNow) {
  NodeSnapshot local = Node(2, 2);
  std::vector<NodeSnapshot> others = {Node(2, 2), Node(1, 1)};
  EXPECT_EQ(PickNode(Cpus(1), local, others, 0.5), local.id);
}

TEST(SchedulingPolicyTest, AThresholdOfOneFillsThisNodeFirstAndZeroSpreadsAtOnce) {
  NodeSnapshot local = Node(4, 3);
  std::vector<NodeSnapshot> others = {Node(4, 0)};
  EXPECT_EQ(PickNode(Cpus(1), local, others, 1.0), local.id);
  EXPECT_EQ(PickNode(Cpus(1), Node(4, 1), others, 0.0), others[0].id);
}

TEST(SchedulingPolicyTest, OnlyNodesWithTheResourceNowAreCandidates) {
  NodeSnapshot local = Node(2, 2);
  NodeSnapshot gpu_node = Node(8, 8);
  NodeSnapshot other = Node(8, 0);
  gpu_node.total += ResourceSet::FromDoubles({{"GPU", 1}}).value();
  gpu_node.available += ResourceSet::FromDoubles({{"GPU", 1}}).value();
  ResourceSet demand = ResourceSet::FromDoubles({{"GPU", 1}}).value();
  EXPECT_EQ(PickNode(demand, local, {other, gpu_node}, 0.5), gpu_node.id);
}

TEST(SchedulingPolicyTest, SpreadRotatesAmongTheLeastUsedNodesWithRoom) {
  NodeSnapshot local = Node(4, 1);
  std::vector<NodeSnapshot> others = {Node(4, 0), Node(4, 0), Node(4, 4)};
  std::set<std::string> picked;
  for (uint64_t turn = 0; turn < 4; ++turn) picked.insert(PickSpread(Cpus(1), local, others, turn).Binary());
  // The two idle nodes take turns; the busier local node and the full one are not picked.
  EXPECT_EQ(picked, (std::set<std::string>{others[0].id.Binary(), others[1].id.Binary()}));
  // Below any threshold, unlike the hybrid policy: an idle peer wins over a lightly used local node.
  EXPECT_NE(PickSpread(Cpus(1), local, others, 0), local.id);
  EXPECT_EQ(PickSpread(Cpus(8), local, others, 0), local.id);  // no room anywhere: queue here
}

}  // namespace
}  // namespace orrery::raylet
