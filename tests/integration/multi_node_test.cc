// Several raylets on one machine, joined as a user joins them (`orrery start --head`, then
// `orrery start --address ... --token ...` twice), each a separate process with its own ports,
// store and session folder; the driver joins with Init(address, token). Every node has one
// CPU, so work that must run at once can only do so spread over the nodes: what the raylets'
// spillback (the hybrid policy over the GCS's resource view) is for.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orrery/api.h"
#include "cli_cluster.h"
#include "cli_cluster_driver.h"
#include "temp_root.h"

namespace fs = std::filesystem;

// ---- remote code ----

std::string NodeId() {
  const char* id = std::getenv("ORRERY_NODE_ID");
  return id == nullptr ? "" : id;
}

// Marks `me` present in `dir`, then waits (up to 30 s) until `parties` are: the node id when
// they all were at once, else "".
std::string Gather(std::string dir, int parties, int me) {
  std::ofstream(dir + "/" + std::to_string(me)) << "here";
  auto all_here = [&] {
    for (int i = 0; i < parties; ++i) {
      if (!fs::exists(dir + "/" + std::to_string(i))) return false;
    }
    return true;
  };
  for (int i = 0; i < 3000 && !all_here(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return all_here() ? NodeId() : "";
}

// Creates `marker`, then sleeps `ms`: the node id it ran on.
std::string MarkAndSleep(std::string marker, int ms) {
  std::ofstream(marker) << "started";
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return NodeId();
}

// A large value (in the shared store, not inline): `size` bytes of a pattern seeded by `seed`.
std::vector<uint8_t> Pattern(int size, int seed) {
  std::vector<uint8_t> bytes(size);
  for (uint32_t i = 0; i < static_cast<uint32_t>(size); ++i) bytes[i] = static_cast<uint8_t>((i * 131u + seed) >> 3);
  return bytes;
}

// Where the task ran, and whether the bytes it was given are Pattern(size, seed).
std::string CheckPattern(std::vector<uint8_t> bytes, int size, int seed) {
  return (bytes == Pattern(size, seed) ? "intact on " : "corrupt on ") + NodeId();
}

class Holder {
 public:
  static Holder* Create() { return new Holder(); }
  std::string Node() { return NodeId(); }
  bool Restarted() { return orrery::WasCurrentActorRestarted(); }
};

// An owner on another node than the driver: how long a task of its, pinned to `node`, took
// from submission to its result (ms).
class Submitter {
 public:
  static Submitter* Create() { return new Submitter(); }
  int64_t TimeTaskOn(std::string node) {
    auto start = std::chrono::steady_clock::now();
    orrery::Get(orrery::Task(NodeId).SetSchedulingStrategy(orrery::SchedulingStrategy::NodeAffinity(node)).Remote());
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  }
};

ORRERY_REMOTE(NodeId, Gather, MarkAndSleep, Pattern, CheckPattern, Holder::Create, &Holder::Node,
              &Holder::Restarted, Submitter::Create, &Submitter::TimeTaskOn);

namespace {

std::string g_root;
std::string g_join;  // the `orrery start --address ...` line joining this cluster

using orrery::testing::Cli;

class MultiNode : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_root = orrery::testing::MakeTempRoot();
    // Health checks every 200 ms: a killed node is declared dead within about a second.
    orrery::testing::CliCluster cluster = orrery::testing::StartHead(
        g_root, "--num-cpus 1 --node-ip-address 127.0.0.1", "ORRERY_HEALTH_CHECK_PERIOD_MS=200");
    ASSERT_FALSE(cluster.token.empty());
    g_join = cluster.join;
    ASSERT_TRUE(orrery::testing::JoinRaylet(cluster));
    ASSERT_TRUE(orrery::testing::JoinRaylet(cluster, "--resources '{\"special\": 1}'"));
    orrery::testing::InitDriver(cluster, g_root);
  }
  // Each test starts on an idle cluster: the workers an earlier test leased are returned a
  // moment after it (owners keep idle leases for a second), and until then the nodes are full.
  void SetUp() override { WaitUntilIdle(); }

  static void WaitUntilIdle() {
    std::string status;
    for (int i = 0; i < 100; ++i) {
      status = Cli("status --temp-dir " + g_root);
      size_t idle = 0;
      for (size_t at = status.find("CPU 0/1"); at != std::string::npos; at = status.find("CPU 0/1", at + 1)) ++idle;
      if (idle >= 3) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "the cluster never became idle:\n" << status;
  }

  // The ids of the three nodes this suite started, as `orrery status` lists them.
  static std::vector<std::string> Nodes() {
    static std::vector<std::string> nodes;
    if (!nodes.empty()) return nodes;
    nodes = orrery::testing::AliveNodes(g_root);
    EXPECT_EQ(nodes.size(), 3u);
    return nodes;
  }
  static std::string AnotherNode() {
    for (const std::string& node : Nodes()) {
      if (node != orrery::GetNodeId()) return node;
    }
    return "";
  }

  static void TearDownTestSuite() { orrery::testing::ShutdownDriverAndCluster(g_root); }
};

TEST_F(MultiNode, ThreeTasksThatMustRunAtOnceSpreadOverTheThreeOneCpuNodes) {
  std::string dir = g_root + "/gather";
  fs::create_directories(dir);
  std::vector<orrery::ObjectRef<std::string>> refs;
  for (int i = 0; i < 3; ++i) refs.push_back(orrery::Task(Gather).Remote(dir, 3, i));
  std::set<std::string> nodes;
  for (const auto& ref : refs) {
    std::string node = *orrery::Get(ref);
    EXPECT_FALSE(node.empty()) << "a task never saw the other two running";
    nodes.insert(node);
  }
  EXPECT_EQ(nodes.size(), 3u);
}

TEST_F(MultiNode, ActorsHoldingACpuEachLandOnDifferentNodes) {
  std::vector<orrery::ActorHandle<Holder>> holders;
  for (int i = 0; i < 3; ++i) holders.push_back(orrery::Actor(Holder::Create).SetResource("CPU", 1).Remote());
  std::set<std::string> nodes;
  for (const auto& holder : holders) nodes.insert(*orrery::Get(holder.Task(&Holder::Node).Remote()));
  EXPECT_EQ(nodes.size(), 3u);
  for (const auto& holder : holders) holder.Kill();
}

TEST_F(MultiNode, ACustomResourceOnOneNodeTakesTheTaskThere) {
  std::string first = *orrery::Get(orrery::Task(NodeId).SetResource("special", 1).Remote());
  EXPECT_FALSE(first.empty());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(*orrery::Get(orrery::Task(NodeId).SetResource("special", 1).Remote()), first);
  }
}

TEST_F(MultiNode, SpreadSendsSmallTasksThatWouldFitOnOneNodeToEveryNode) {
  // A quarter CPU each: by default the first two would stay on the caller's node.
  std::string dir = g_root + "/spread";
  fs::create_directories(dir);
  std::vector<orrery::ObjectRef<std::string>> refs;
  for (int i = 0; i < 3; ++i) {
    refs.push_back(orrery::Task(Gather)
                       .SetResource("CPU", 0.25)
                       .SetSchedulingStrategy(orrery::SchedulingStrategy::Spread())
                       .Remote(dir, 3, i));
  }
  std::set<std::string> nodes;
  for (const auto& ref : refs) nodes.insert(*orrery::Get(ref));
  EXPECT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes.count(""), 0u);
}

TEST_F(MultiNode, NodeAffinityPinsTasksAndActorsToTheNamedNode) {
  std::string dir = g_root + "/find";
  fs::create_directories(dir);
  std::vector<orrery::ObjectRef<std::string>> refs;
  for (int i = 0; i < 3; ++i) refs.push_back(orrery::Task(Gather).Remote(dir, 3, i));
  std::string other;
  for (const auto& ref : refs) {
    std::string node = *orrery::Get(ref);
    if (node != orrery::GetNodeId()) other = node;
  }
  ASSERT_FALSE(other.empty());
  auto pinned = orrery::SchedulingStrategy::NodeAffinity(other);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(*orrery::Get(orrery::Task(NodeId).SetSchedulingStrategy(pinned).Remote()), other);
  auto holder = orrery::Actor(Holder::Create).SetSchedulingStrategy(pinned).Remote();
  EXPECT_EQ(*orrery::Get(holder.Task(&Holder::Node).Remote()), other);
  holder.Kill();
}

// The driver's lease on another node (granted there after spillback) is kept idle for reuse;
// an actor on that node wants its one CPU: that node's raylet asks the driver for it, and the
// actor's task runs at once instead of after the driver's idle-lease time (a second).
TEST_F(MultiNode, AnIdleLeaseOnAnotherNodeYieldsAtOnceToWorkWaitingThere) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "a time bound: checked in the Release pass";
#endif
  std::string other = AnotherNode();
  ASSERT_FALSE(other.empty());
  auto pinned = orrery::SchedulingStrategy::NodeAffinity(other);
  auto submitter = orrery::Actor(Submitter::Create).SetSchedulingStrategy(pinned).Remote();
  ASSERT_LT(*orrery::Get(submitter.Task(&Submitter::TimeTaskOn).Remote(other)), 10'000);  // its worker is up
  WaitUntilIdle();
  ASSERT_EQ(*orrery::Get(orrery::Task(NodeId).SetSchedulingStrategy(pinned).Remote()), other);
  // The driver now holds that node's CPU, idle.
  EXPECT_LT(*orrery::Get(submitter.Task(&Submitter::TimeTaskOn).Remote(other)), 500);
  submitter.Kill();
}

TEST_F(MultiNode, AHardAffinityToADeadOrUnknownNodeFailsTypedASoftOneRunsElsewhere) {
  std::string nowhere(32, 'a');
  auto hard = orrery::Task(NodeId).SetSchedulingStrategy(orrery::SchedulingStrategy::NodeAffinity(nowhere)).Remote();
  try {
    orrery::Get(hard);
    ADD_FAILURE() << "a task pinned to no node ran";
  } catch (const orrery::TaskUnschedulableError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr(nowhere));
  }
  auto soft =
      orrery::Task(NodeId).SetSchedulingStrategy(orrery::SchedulingStrategy::NodeAffinity(nowhere, true)).Remote();
  EXPECT_FALSE(orrery::Get(soft)->empty());
  try {
    orrery::Task(NodeId).SetSchedulingStrategy(orrery::SchedulingStrategy::NodeAffinity("not-a-node")).Remote();
    ADD_FAILURE() << "a malformed node id was accepted";
  } catch (const orrery::OrreryException& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("not-a-node"));
  }
  auto actor =
      orrery::Actor(Holder::Create).SetSchedulingStrategy(orrery::SchedulingStrategy::NodeAffinity(nowhere)).Remote();
  try {
    orrery::Get(actor.Task(&Holder::Node).Remote());
    ADD_FAILURE() << "an actor pinned to no node was created";
  } catch (const orrery::ActorDiedError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr(nowhere));
  }
}

constexpr int kLarge = 24 << 20;  // far above the inline limit, several transfer chunks

TEST_F(MultiNode, ALargeValuePutHereIsReadByATaskOnAnotherNode) {
  std::string other = AnotherNode();
  ASSERT_FALSE(other.empty());
  auto value = orrery::Put(Pattern(kLarge, 7));
  auto pinned = orrery::SchedulingStrategy::NodeAffinity(other);
  EXPECT_EQ(*orrery::Get(orrery::Task(CheckPattern).SetSchedulingStrategy(pinned).Remote(value, kLarge, 7)),
            "intact on " + other);
  // Read again there: from the copy the first task left on that node.
  EXPECT_EQ(*orrery::Get(orrery::Task(CheckPattern).SetSchedulingStrategy(pinned).Remote(value, kLarge, 7)),
            "intact on " + other);
}

TEST_F(MultiNode, ALargeResultMadeOnAnotherNodeIsReadHere) {
  std::string other = AnotherNode();
  ASSERT_FALSE(other.empty());
  auto pinned = orrery::SchedulingStrategy::NodeAffinity(other);
  auto made = orrery::Task(Pattern).SetSchedulingStrategy(pinned).Remote(kLarge, 3);
  EXPECT_TRUE(*orrery::Get(made) == Pattern(kLarge, 3));
  EXPECT_TRUE(*orrery::Get(made) == Pattern(kLarge, 3));
  // And passed on, from there, to a task on the third node.
  std::string third;
  for (const std::string& node : Nodes()) {
    if (node != other && node != orrery::GetNodeId()) third = node;
  }
  ASSERT_FALSE(third.empty());
  auto on_third = orrery::SchedulingStrategy::NodeAffinity(third);
  EXPECT_EQ(*orrery::Get(orrery::Task(CheckPattern).SetSchedulingStrategy(on_third).Remote(made, kLarge, 3)),
            "intact on " + third);
}

TEST_F(MultiNode, ATaskRunsOnTheNodeHoldingItsLargeArgument) {
  std::string other = AnotherNode();
  ASSERT_FALSE(other.empty());
  auto pinned = orrery::SchedulingStrategy::NodeAffinity(other);
  auto made = orrery::Task(Pattern).SetSchedulingStrategy(pinned).Remote(kLarge, 9);
  orrery::Wait(std::vector<orrery::ObjectRef<std::vector<uint8_t>>>{made}, 1, 30'000);
  WaitUntilIdle();  // the worker that made it is returned (until then that node is full)
  // On an idle cluster a task with no such argument stays on the caller's node; these go to
  // the value, which is not copied anywhere.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(*orrery::Get(orrery::Task(CheckPattern).Remote(made, kLarge, 9)), "intact on " + other);
  }
  EXPECT_EQ(*orrery::Get(orrery::Task(NodeId).Remote()), orrery::GetNodeId());
}

// The pid of the raylet of `node` (0 if unknown), from the session's pid records.
pid_t RayletPid(const std::string& node) { return orrery::testing::RayletPid(g_root, node); }

// Whether `orrery status` comes to show exactly `count` nodes with an empty object store within
// 15 s (stores report their use about once a second); the last status otherwise.
::testing::AssertionResult EmptyStoresBecome(int count) {
  std::string status;
  for (int i = 0; i < 150; ++i) {
    status = Cli("status --temp-dir " + g_root);
    int empty = 0;
    for (size_t at = status.find("store 0 B/"); at != std::string::npos; at = status.find("store 0 B/", at + 1)) {
      ++empty;
    }
    if (empty == count) return ::testing::AssertionSuccess();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return ::testing::AssertionFailure() << "not " << count << " empty stores:\n" << status;
}

TEST_F(MultiNode, EveryNodeReadsOneBroadcastObjectAndItsOwnerFreesEveryCopy) {
  ASSERT_TRUE(EmptyStoresBecome(3)) << "objects of earlier tests were never freed";
  {
    auto value = orrery::Put(Pattern(kLarge, 11));
    std::vector<orrery::ObjectRef<std::string>> reads;
    for (int round = 0; round < 2; ++round) {
      for (const std::string& node : Nodes()) {
        auto pinned = orrery::SchedulingStrategy::NodeAffinity(node);
        reads.push_back(orrery::Task(CheckPattern).SetSchedulingStrategy(pinned).Remote(value, kLarge, 11));
      }
    }
    std::set<std::string> results;
    for (const auto& read : reads) results.insert(*orrery::Get(read));
    std::set<std::string> expected;
    for (const std::string& node : Nodes()) expected.insert("intact on " + node);
    EXPECT_EQ(results, expected);
    EXPECT_TRUE(EmptyStoresBecome(0)) << "every node holds a copy while the value lives";
  }
  // The last ref is gone: the owner frees the value on its node and the copies on the others.
  EXPECT_TRUE(EmptyStoresBecome(3));
}

TEST_F(MultiNode, AValueWhoseOnlyCopyWasOnAStoppedNodeIsLost) {
  // The node is added here, and stopped with `orrery stop`-like SIGTERM, so the test stays
  // independent of the last one (which kills a node with SIGKILL).
  std::string joined = Cli(g_join + " --resources '{\"doomed\": 1}'");
  ASSERT_THAT(joined, ::testing::Not(::testing::HasSubstr("rror"))) << joined;
  std::string doomed = *orrery::Get(orrery::Task(NodeId).SetResource("doomed", 1).Remote());
  ASSERT_FALSE(doomed.empty());
  // No retries: its task cannot be run again to make it anew (lineage reconstruction has its
  // own tests, lineage_reconstruction_test.cc).
  auto made = orrery::Task(Pattern).SetResource("doomed", 1).SetMaxRetries(0).Remote(kLarge, 5);
  ASSERT_TRUE(orrery::Wait(std::vector<orrery::ObjectRef<std::vector<uint8_t>>>{made}, 1, 30'000).ready.size() == 1);
  // Gone for good once the process is: until then it may still serve its store.
  ASSERT_TRUE(orrery::testing::StopRaylet(g_root, doomed));
  try {
    orrery::Get(made);
    ADD_FAILURE() << "a value read from a stopped node";
  } catch (const orrery::ObjectLostError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr(doomed));
  }
}

// Last: it adds a fourth node and kills it.
TEST_F(MultiNode, WhenANodeDiesItsActorRestartsAndItsRunningTaskIsRetriedElsewhere) {
  std::string joined = Cli(g_join + " --resources '{\"victim\": 1}'");
  ASSERT_THAT(joined, ::testing::Not(::testing::HasSubstr("rror"))) << joined;
  std::string victim = *orrery::Get(orrery::Task(NodeId).SetResource("victim", 1).Remote());
  ASSERT_FALSE(victim.empty());
  auto there = orrery::SchedulingStrategy::NodeAffinity(victim, /*soft=*/true);
  auto actor = orrery::Actor(Holder::Create).SetMaxRestarts(1).SetSchedulingStrategy(there).Remote();
  ASSERT_EQ(*orrery::Get(actor.Task(&Holder::Node).Remote()), victim);
  std::string marker = g_root + "/started";
  auto task = orrery::Task(MarkAndSleep).SetSchedulingStrategy(there).Remote(marker, 2000);
  for (int i = 0; i < 3000 && !fs::exists(marker); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(fs::exists(marker)) << "the task never started";

  pid_t raylet = RayletPid(victim);
  ASSERT_GT(raylet, 0);
  ASSERT_EQ(kill(raylet, SIGKILL), 0);

  std::string retried_on = *orrery::Get(task);
  EXPECT_FALSE(retried_on.empty());
  EXPECT_NE(retried_on, victim);
  EXPECT_NE(*orrery::Get(actor.Task(&Holder::Node).Remote()), victim);
  EXPECT_TRUE(*orrery::Get(actor.Task(&Holder::Restarted).Remote()));
}

}  // namespace

int main(int argc, char** argv) {
  // In a worker process this serves tasks and never returns.
  orrery::internal::ServeIfWorker();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
