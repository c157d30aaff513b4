// The raylet's view of other nodes: where a request this node cannot hold could go.
#include "src/raylet/cluster_view.h"

#include "gtest/gtest.h"

namespace orrery::raylet {
namespace {

rpc::NodeInfo Node(const NodeId& id, double cpus, rpc::NodeInfo::State state = rpc::NodeInfo::ALIVE) {
  rpc::NodeInfo node;
  node.set_node_id(id.Binary());
  node.set_state(state);
  ResourceSet::FromDoubles({{"CPU", cpus}}).value().ToProto(node.mutable_total_resources());
  return node;
}

TEST(ClusterViewTest, FindsAnotherNodeBigEnoughButNeverThisOne) {
  ClusterView view;
  NodeId self = NodeId::FromRandom(), small = NodeId::FromRandom(), big = NodeId::FromRandom();
  view.Update(Node(self, 64));
  view.Update(Node(small, 2));
  view.Update(Node(big, 16));
  auto demand = ResourceSet::FromDoubles({{"CPU", 8}}).value();
  auto found = view.FeasibleNode(demand, self);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->node_id(), big.Binary());
  EXPECT_FALSE(view.FeasibleNode(ResourceSet::FromDoubles({{"CPU", 32}}).value(), self).has_value());
}

TEST(ClusterViewTest, DeadNodesAndNodesMissingFromASnapshotAreForgotten) {
  ClusterView view;
  NodeId a = NodeId::FromRandom(), b = NodeId::FromRandom();
  view.Update(Node(a, 4));
  view.Update(Node(b, 4));
  view.Update(Node(a, 4, rpc::NodeInfo::DEAD));
  EXPECT_EQ(view.size(), 1u);
  view.Retain({});
  EXPECT_EQ(view.size(), 0u);
}

}  // namespace
}  // namespace orrery::raylet
