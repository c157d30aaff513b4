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

TEST(ClusterViewTest, UsageReportsAndRequestsSentThereShapeWhatANodeHasFree) {
  ClusterView view;
  NodeId a = NodeId::FromRandom(), b = NodeId::FromRandom(), unknown = NodeId::FromRandom();
  view.Update(Node(a, 4));
  view.Update(Node(b, 4));
  auto free_of = [&](const NodeId& id) {
    for (const NodeSnapshot& node : view.Snapshots(NodeId())) {
      if (node.id == id) return node.available.Get(kCpu).ToDouble();
    }
    return -1.0;
  };
  EXPECT_EQ(free_of(a), 4);  // before any report: all of it

  rpc::NodeResourceUsage usage;
  usage.set_node_id(a.Binary());
  ResourceSet::FromDoubles({{"CPU", 4}}).value().ToProto(usage.mutable_total());
  ResourceSet::FromDoubles({{"CPU", 1}}).value().ToProto(usage.mutable_available());
  view.UpdateUsage(usage);
  EXPECT_EQ(free_of(a), 1);
  usage.set_node_id(unknown.Binary());
  view.UpdateUsage(usage);  // not known alive: ignored
  EXPECT_EQ(view.size(), 2u);

  // A burst sent to b counts against it until b reports, so the next request looks elsewhere.
  view.NoteSent(b, ResourceSet::FromDoubles({{"CPU", 3}}).value());
  EXPECT_EQ(free_of(b), 1);
  EXPECT_EQ(view.Snapshots(a).size(), 1u);
}

}  // namespace
}  // namespace orrery::raylet
