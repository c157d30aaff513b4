// Which transport a process takes to another worker (worker_target.h): the worker's Unix socket
// when both run on the same node, its TCP port otherwise.
#include "src/core_worker/worker_target.h"

#include "gtest/gtest.h"

namespace orrery::core {
namespace {

rpc::WorkerAddress AddressOf(const WorkerId& worker, const NodeId& node) {
  rpc::WorkerAddress address;
  address.set_worker_id(worker.Binary());
  address.set_node_id(node.Binary());
  address.set_ip("10.0.0.7");
  address.set_port(40123);
  return address;
}

TEST(WorkerTargetTest, AWorkerOfThisNodeIsReachedOverTheSocketItServes) {
  WorkerId worker = WorkerId::FromRandom();
  NodeId node = NodeId::FromRandom();
  EXPECT_EQ(LocalWorkerSocket(worker), "@orrery-worker-" + worker.Hex());
  EXPECT_EQ(WorkerTarget(AddressOf(worker, node), node), "unix-abstract:orrery-worker-" + worker.Hex());
}

TEST(WorkerTargetTest, AWorkerOfAnotherNodeIsReachedOverItsTcpPort) {
  WorkerId worker = WorkerId::FromRandom();
  EXPECT_EQ(WorkerTarget(AddressOf(worker, NodeId::FromRandom()), NodeId::FromRandom()), "10.0.0.7:40123");
}

TEST(WorkerTargetTest, WithoutANodeOrAWorkerIdTheTcpPortIsUsed) {
  WorkerId worker = WorkerId::FromRandom();
  NodeId node = NodeId::FromRandom();
  // A process that does not know its node (nil), and an address without a node or a valid id.
  EXPECT_EQ(WorkerTarget(AddressOf(worker, node), NodeId()), "10.0.0.7:40123");
  rpc::WorkerAddress no_node = AddressOf(worker, node);
  no_node.clear_node_id();
  EXPECT_EQ(WorkerTarget(no_node, NodeId()), "10.0.0.7:40123");
  rpc::WorkerAddress bad_id = AddressOf(worker, node);
  bad_id.set_worker_id("short");
  EXPECT_EQ(WorkerTarget(bad_id, node), "10.0.0.7:40123");
}

}  // namespace
}  // namespace orrery::core
