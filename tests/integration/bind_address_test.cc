// Where a cluster started with `orrery start` listens (issue 23): the GCS, the raylet (its gRPC
// port and its object data socket), a worker and the driver listen on the node's IP only, and
// on every interface with --bind-all. Read from /proc (listening_sockets.h).
#include <sys/types.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "cli_cluster.h"
#include "cli_cluster_driver.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "listening_sockets.h"
#include "orrery/api.h"
#include "temp_root.h"

// ---- remote code ----

int WorkerPid() { return static_cast<int>(getpid()); }

ORRERY_REMOTE(WorkerPid);

namespace {

using ::testing::Each;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

std::vector<std::string> ListeningAddressesOf(pid_t pid) {
  std::vector<std::string> addresses;
  for (const auto& socket : orrery::testing::ListeningSocketsOf(pid)) addresses.push_back(socket.address);
  return addresses;
}

// Every interface: gRPC listens on [::] (dual stack) for 0.0.0.0 where it can, the object data
// socket on 0.0.0.0.
bool IsAllInterfaces(const std::string& address) { return address == "0.0.0.0" || address == "::"; }

struct ClusterProcesses {
  pid_t gcs = 0;
  pid_t raylet = 0;
  pid_t worker = 0;
};

// Starts a head on 127.0.0.1 with `flags`, joins it as the driver and runs a task: the pids of
// the GCS, the raylet and the worker that ran the task.
ClusterProcesses StartClusterAndRunATask(const std::string& root, const std::string& flags) {
  orrery::testing::CliCluster cluster =
      orrery::testing::StartHead(root, "--num-cpus 1 --node-ip-address 127.0.0.1 " + flags);
  orrery::testing::InitDriver(cluster, root);
  ClusterProcesses processes;
  processes.gcs = orrery::testing::DaemonPid(root, "gcs");
  processes.raylet = orrery::testing::RayletPid(root, cluster.node_id);
  processes.worker = *orrery::Get(orrery::Task(WorkerPid).Remote());
  return processes;
}

class BindAddressTest : public ::testing::Test {
 protected:
  void SetUp() override { root_ = orrery::testing::MakeTempRoot(); }
  void TearDown() override { orrery::testing::ShutdownDriverAndCluster(root_); }

  std::string root_;
};

TEST_F(BindAddressTest, DaemonsWorkersAndDriversListenOnTheNodeIpOnly) {
  ClusterProcesses cluster = StartClusterAndRunATask(root_, "");
  ASSERT_GT(cluster.gcs, 0);
  ASSERT_GT(cluster.raylet, 0);
  EXPECT_THAT(ListeningAddressesOf(cluster.gcs), Not(IsEmpty()));
  EXPECT_THAT(ListeningAddressesOf(cluster.gcs), Each("127.0.0.1"));
  // Its gRPC port, its object data socket and its metrics port.
  EXPECT_THAT(ListeningAddressesOf(cluster.raylet), SizeIs(3));
  EXPECT_THAT(ListeningAddressesOf(cluster.raylet), Each("127.0.0.1"));
  EXPECT_THAT(ListeningAddressesOf(cluster.worker), Not(IsEmpty()));
  EXPECT_THAT(ListeningAddressesOf(cluster.worker), Each("127.0.0.1"));
  EXPECT_THAT(ListeningAddressesOf(getpid()), Not(IsEmpty()));
  EXPECT_THAT(ListeningAddressesOf(getpid()), Each("127.0.0.1"));
}

TEST_F(BindAddressTest, WithBindAllEveryoneListensOnEveryInterface) {
  ClusterProcesses cluster = StartClusterAndRunATask(root_, "--bind-all");
  ASSERT_GT(cluster.gcs, 0);
  ASSERT_GT(cluster.raylet, 0);
  auto all_interfaces = ::testing::Truly(IsAllInterfaces);
  EXPECT_THAT(ListeningAddressesOf(cluster.gcs), Not(IsEmpty()));
  EXPECT_THAT(ListeningAddressesOf(cluster.gcs), Each(all_interfaces));
  EXPECT_THAT(ListeningAddressesOf(cluster.raylet), SizeIs(3));
  EXPECT_THAT(ListeningAddressesOf(cluster.raylet), Each(all_interfaces));
  EXPECT_THAT(ListeningAddressesOf(cluster.worker), Not(IsEmpty()));
  EXPECT_THAT(ListeningAddressesOf(cluster.worker), Each(all_interfaces));
  EXPECT_THAT(ListeningAddressesOf(getpid()), Not(IsEmpty()));
  EXPECT_THAT(ListeningAddressesOf(getpid()), Each(all_interfaces));
}

// A node IP that is not one of this host's (a NAT's public address) cannot be listened on: the
// start fails naming it and the way out.
TEST(BindAddressCliTest, ANodeIpNotOfThisHostIsRefusedNamingBindAll) {
  std::string root = orrery::testing::MakeTempRoot();
  const std::string kNotOfThisHost = "192.0.2.1";  // TEST-NET-1, a documentation address
  orrery::testing::CliRun start = orrery::testing::RunCli("start --head --port 0 --num-cpus 1 --node-ip-address " +
                                                          kNotOfThisHost + " --temp-dir " + root);
  EXPECT_EQ(start.exit_code, 1);
  EXPECT_THAT(start.output, ::testing::HasSubstr(kNotOfThisHost + " is not an address of this host"));
  EXPECT_THAT(start.output, ::testing::HasSubstr("--bind-all"));
  std::filesystem::remove_all(root);
}

}  // namespace

int main(int argc, char** argv) {
  // In a worker process this serves tasks and never returns.
  orrery::internal::ServeIfWorker();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
