// Placement groups on a cluster of three raylets joined with the CLI (two CPUs each), through
// the public API only: every strategy, tasks and actors placed in bundles and bounded by them,
// names, removal ending what runs inside, and a group placed again after its node dies.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cli_cluster.h"
#include "cli_cluster_driver.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orrery/api.h"
#include "temp_root.h"

namespace fs = std::filesystem;

// ---- remote code ----

std::string NodeId() {
  const char* id = std::getenv("ORRERY_NODE_ID");
  return id == nullptr ? "" : id;
}

std::string VisibleGpus() {
  const char* gpus = std::getenv("CUDA_VISIBLE_DEVICES");
  return gpus == nullptr ? "<unset>" : gpus;
}

// Removes a group from a worker: another process than the driver that made it.
bool RemoveGroup(std::string id) {
  orrery::RemovePlacementGroup(id);
  return true;
}

class Member {
 public:
  static Member* Create() { return new Member(); }
  std::string Node() { return NodeId(); }
};

ORRERY_REMOTE(NodeId, VisibleGpus, RemoveGroup, Member::Create, &Member::Node);

namespace {

using orrery::PlacementGroup;
using orrery::PlacementGroupCreationOptions;
using orrery::PlacementGroupState;
using orrery::PlacementStrategy;

std::string g_root;
orrery::testing::CliCluster g_cluster;

PlacementGroupCreationOptions Options(int bundles, double cpus, PlacementStrategy strategy, std::string name = "") {
  PlacementGroupCreationOptions options;
  options.name = std::move(name);
  options.strategy = strategy;
  for (int i = 0; i < bundles; ++i) options.bundles.push_back({{"CPU", cpus}});
  return options;
}

// The node a task placed in each bundle of `group` runs on.
std::vector<std::string> NodesOfBundles(const PlacementGroup& group) {
  std::vector<orrery::ObjectRef<std::string>> refs;
  for (size_t i = 0; i < group.GetBundles().size(); ++i) {
    refs.push_back(orrery::Task(NodeId).SetPlacementGroup(group, static_cast<int>(i)).Remote());
  }
  std::vector<std::string> nodes;
  for (const auto& ref : refs) nodes.push_back(*orrery::Get(ref));
  return nodes;
}

size_t Distinct(const std::vector<std::string>& nodes) { return std::set<std::string>(nodes.begin(), nodes.end()).size(); }

PlacementGroupState StateOf(const PlacementGroup& group) {
  return orrery::GetPlacementGroupById(group.GetID()).GetState();
}

class PlacementGroups : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_root = orrery::testing::MakeTempRoot();
    // Health checks every 200 ms: a stopped node is declared dead within about a second. The
    // head has two (fake) GPUs, 3 and 5; the other nodes none.
    g_cluster = orrery::testing::StartHead(g_root, "--num-cpus 2 --node-ip-address 127.0.0.1",
                                           "ORRERY_HEALTH_CHECK_PERIOD_MS=200 CUDA_VISIBLE_DEVICES=3,5");
    ASSERT_FALSE(g_cluster.token.empty());
    ASSERT_TRUE(orrery::testing::JoinRaylet(g_cluster, "--resources '{\"spare\": 1}'"));
    ASSERT_TRUE(orrery::testing::JoinRaylet(g_cluster, "--resources '{\"spare\": 1}'"));
    orrery::testing::InitDriver(g_cluster, g_root);
  }
  static void TearDownTestSuite() { orrery::testing::ShutdownDriverAndCluster(g_root); }
};

TEST_F(PlacementGroups, StrictSpreadPutsEachBundleAndWhatRunsInItOnANodeOfItsOwn) {
  PlacementGroup group = orrery::CreatePlacementGroup(Options(3, 1, PlacementStrategy::STRICT_SPREAD));
  ASSERT_TRUE(group.Wait(30));
  EXPECT_EQ(StateOf(group), PlacementGroupState::CREATED);
  std::vector<std::string> nodes = NodesOfBundles(group);
  EXPECT_EQ(Distinct(nodes), 3u);
  EXPECT_EQ(nodes.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    auto member = orrery::Actor(Member::Create).SetPlacementGroup(group, i).Remote();
    EXPECT_EQ(*orrery::Get(member.Task(&Member::Node).Remote()), nodes[i]) << "bundle " << i;
    member.Kill();
  }
  orrery::RemovePlacementGroup(group.GetID());
}

TEST_F(PlacementGroups, StrictPackPutsEveryBundleOnOneNode) {
  PlacementGroup group = orrery::CreatePlacementGroup(Options(2, 1, PlacementStrategy::STRICT_PACK));
  ASSERT_TRUE(group.Wait(30));
  EXPECT_EQ(Distinct(NodesOfBundles(group)), 1u);
  orrery::RemovePlacementGroup(group.GetID());
  // Three CPUs on one node exist nowhere: it waits, and says so.
  PlacementGroup too_big = orrery::CreatePlacementGroup(Options(3, 1, PlacementStrategy::STRICT_PACK));
  EXPECT_FALSE(too_big.Wait(1));
  EXPECT_EQ(StateOf(too_big), PlacementGroupState::PENDING);
  orrery::RemovePlacementGroup(too_big.GetID());
}

TEST_F(PlacementGroups, PackSharesANodeAndSpreadUsesEveryNode) {
  // Each group is made right after the last one's removal: it must see the room that freed
  // (the removal, sent without waiting, must not be overtaken by the creation).
  for (int round = 0; round < 5; ++round) {
    PlacementGroup packed = orrery::CreatePlacementGroup(Options(2, 1, PlacementStrategy::PACK));
    ASSERT_TRUE(packed.Wait(30));
    EXPECT_EQ(Distinct(NodesOfBundles(packed)), 1u) << "round " << round;
    orrery::RemovePlacementGroup(packed.GetID());
    PlacementGroup spread = orrery::CreatePlacementGroup(Options(3, 1, PlacementStrategy::SPREAD));
    ASSERT_TRUE(spread.Wait(30));
    EXPECT_EQ(Distinct(NodesOfBundles(spread)), 3u) << "round " << round;
    orrery::RemovePlacementGroup(spread.GetID());
  }
}

TEST_F(PlacementGroups, AGroupThatCannotFitStaysPendingUntilRemoved) {
  PlacementGroup group = orrery::CreatePlacementGroup(Options(4, 1, PlacementStrategy::STRICT_SPREAD));
  EXPECT_FALSE(group.Wait(1));
  EXPECT_EQ(StateOf(group), PlacementGroupState::PENDING);
  // `orrery status` shows it waiting, and why.
  std::string status = orrery::testing::Cli("status --temp-dir " + g_root);
  EXPECT_THAT(status, ::testing::HasSubstr(group.GetID() + " STRICT_SPREAD PENDING: STRICT_SPREAD needs 4 nodes"))
      << status;
  orrery::RemovePlacementGroup(group.GetID());
  EXPECT_EQ(StateOf(group), PlacementGroupState::REMOVED);
  EXPECT_THROW(group.Wait(1), orrery::OrreryException);
}

TEST_F(PlacementGroups, ABundleBoundsWhatRunsInIt) {
  PlacementGroup group = orrery::CreatePlacementGroup(Options(1, 1, PlacementStrategy::PACK));
  ASSERT_TRUE(group.Wait(30));
  // Asking for more than the bundle holds is not an error: the task stays pending.
  auto too_big = orrery::Task(NodeId).SetResource("CPU", 2).SetPlacementGroup(group, 0).Remote();
  auto ready = orrery::Wait(std::vector<orrery::ObjectRef<std::string>>{too_big}, 1, 1000);
  EXPECT_TRUE(ready.ready.empty());
  // What fits runs, in the bundle or in any bundle (-1).
  EXPECT_FALSE(orrery::Get(orrery::Task(NodeId).SetPlacementGroup(group, 0).Remote())->empty());
  EXPECT_FALSE(orrery::Get(orrery::Task(NodeId).SetPlacementGroup(group).Remote())->empty());
  orrery::RemovePlacementGroup(group.GetID());
  // Once the group is gone, what waited in it can never run: it fails, naming the group.
  try {
    orrery::Get(too_big);
    ADD_FAILURE() << "a task of a removed group ran";
  } catch (const orrery::TaskUnschedulableError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr(group.GetID()));
  }
  EXPECT_THROW(orrery::Get(orrery::Task(NodeId).SetPlacementGroup(group, 0).Remote()), orrery::TaskUnschedulableError);
}

TEST_F(PlacementGroups, NamesAreUniqueAndFoundAndFreedByRemoval) {
  PlacementGroup first = orrery::CreatePlacementGroup(Options(1, 0.5, PlacementStrategy::PACK, "shared-name"));
  try {
    orrery::CreatePlacementGroup(Options(1, 0.5, PlacementStrategy::PACK, "shared-name"));
    ADD_FAILURE() << "a second group took a name in use";
  } catch (const orrery::OrreryException& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("shared-name"));
  }
  EXPECT_EQ(orrery::GetPlacementGroup("shared-name").GetID(), first.GetID());
  EXPECT_TRUE(orrery::GetPlacementGroup("no-such-group").Empty());
  std::set<std::string> all;
  for (const PlacementGroup& group : orrery::GetAllPlacementGroups()) all.insert(group.GetID());
  EXPECT_EQ(all.count(first.GetID()), 1u);
  orrery::RemovePlacementGroup(first.GetID());
  orrery::RemovePlacementGroup(first.GetID());  // a second removal is not an error
  EXPECT_TRUE(orrery::GetPlacementGroup("shared-name").Empty());
  PlacementGroup second = orrery::CreatePlacementGroup(Options(1, 0.5, PlacementStrategy::PACK, "shared-name"));
  EXPECT_TRUE(second.Wait(30));
  orrery::RemovePlacementGroup(second.GetID());
}

// A removal of a group this driver made does not wait for the GCS: every later call sees it.
TEST_F(PlacementGroups, EveryCallAfterARemovalSeesTheGroupRemoved) {
  for (int i = 0; i < 20; ++i) {
    PlacementGroup group = orrery::CreatePlacementGroup(Options(1, 0.5, PlacementStrategy::PACK, "short-lived"));
    ASSERT_TRUE(group.Wait(30));
    orrery::RemovePlacementGroup(group.GetID());
    EXPECT_TRUE(orrery::GetPlacementGroup("short-lived").Empty()) << "round " << i;
    EXPECT_EQ(StateOf(group), PlacementGroupState::REMOVED) << "round " << i;
  }
  std::vector<PlacementGroup> groups;
  for (int i = 0; i < 20; ++i) groups.push_back(orrery::CreatePlacementGroup(Options(1, 0.1, PlacementStrategy::PACK)));
  for (const PlacementGroup& group : groups) orrery::RemovePlacementGroup(group.GetID());
  std::set<std::string> removed;
  for (const PlacementGroup& group : orrery::GetAllPlacementGroups()) {
    if (group.GetState() == PlacementGroupState::REMOVED) removed.insert(group.GetID());
  }
  for (const PlacementGroup& group : groups) EXPECT_EQ(removed.count(group.GetID()), 1u) << group.GetID();
}

TEST_F(PlacementGroups, RemovalEndsTheActorsInsideAndGivesTheResourcesBack) {
  // Every CPU of the cluster, one whole node per bundle.
  PlacementGroup group = orrery::CreatePlacementGroup(Options(3, 2, PlacementStrategy::STRICT_SPREAD));
  ASSERT_TRUE(group.Wait(30));
  auto member = orrery::Actor(Member::Create).SetPlacementGroup(group, 1).Remote();
  EXPECT_FALSE(orrery::Get(member.Task(&Member::Node).Remote())->empty());
  orrery::RemovePlacementGroup(group.GetID());
  EXPECT_EQ(StateOf(group), PlacementGroupState::REMOVED);
  // The actor is ended as the removal goes out to its node: a call made at once may still be
  // answered, and within moments every call fails, saying why.
  std::string died;
  for (int i = 0; i < 200 && died.empty(); ++i) {
    try {
      orrery::Get(member.Task(&Member::Node).Remote());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } catch (const orrery::ActorDiedError& e) {
      died = e.what();
    }
  }
  EXPECT_THAT(died, ::testing::HasSubstr("placement group")) << "an actor in a removed group still answers";
  PlacementGroup again = orrery::CreatePlacementGroup(Options(3, 2, PlacementStrategy::STRICT_SPREAD));
  EXPECT_TRUE(again.Wait(30)) << "the removed group's CPUs did not come back";
  orrery::RemovePlacementGroup(again.GetID());
}

TEST_F(PlacementGroups, BadGroupsAndBundleIndexesAreRefusedAtOnce) {
  EXPECT_THROW(orrery::CreatePlacementGroup(Options(0, 1, PlacementStrategy::PACK)), orrery::OrreryException);
  PlacementGroupCreationOptions empty_bundle = Options(1, 1, PlacementStrategy::PACK);
  empty_bundle.bundles.push_back({});
  EXPECT_THROW(orrery::CreatePlacementGroup(empty_bundle), orrery::OrreryException);
  EXPECT_THROW(orrery::CreatePlacementGroup(Options(1, -1, PlacementStrategy::PACK)), orrery::OrreryException);
  PlacementGroup group = orrery::CreatePlacementGroup(Options(2, 0.5, PlacementStrategy::PACK));
  try {
    orrery::Task(NodeId).SetPlacementGroup(group, 2);
    ADD_FAILURE() << "bundle 2 of a two-bundle group was accepted";
  } catch (const orrery::OrreryException& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("bundle index 2"));
  }
  EXPECT_THROW(orrery::Task(NodeId).SetPlacementGroup(PlacementGroup(), 0), orrery::OrreryException);
  EXPECT_THROW(orrery::GetPlacementGroupById(std::string(32, 'a')), orrery::OrreryException);
  EXPECT_THROW(orrery::RemovePlacementGroup("not-an-id"), orrery::OrreryException);
  orrery::RemovePlacementGroup(group.GetID());
}

// Last: it stops a raylet.
TEST_F(PlacementGroups, AGroupWhoseNodeDiesIsPlacedAgainOnAnother) {
  // "spare" is on the two joined nodes, and now a third.
  ASSERT_TRUE(orrery::testing::JoinRaylet(g_cluster, "--resources '{\"spare\": 1}'"));
  PlacementGroupCreationOptions options;
  options.strategy = PlacementStrategy::STRICT_SPREAD;
  options.bundles = {{{"spare", 1}, {"CPU", 1}}, {{"spare", 1}, {"CPU", 1}}};
  PlacementGroup group = orrery::CreatePlacementGroup(options);
  ASSERT_TRUE(group.Wait(30));
  std::vector<std::string> before = NodesOfBundles(group);
  ASSERT_EQ(Distinct(before), 2u);
  // Stop a node holding a bundle, never this driver's own.
  size_t lost = before[0] == orrery::GetNodeId() ? 1 : 0;
  size_t kept = 1 - lost;
  ASSERT_TRUE(orrery::testing::StopRaylet(g_root, before[lost]));
  // Once the GCS has declared the node dead, the group is RESCHEDULING (for a moment: the
  // GCS unit tests see it) and then CREATED again.
  for (int i = 0; i < 300; ++i) {
    std::vector<std::string> alive = orrery::testing::AliveNodes(g_root);
    if (std::find(alive.begin(), alive.end(), before[lost]) == alive.end()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(group.Wait(30));
  std::vector<std::string> after = NodesOfBundles(group);
  EXPECT_NE(after[lost], before[lost]);
  EXPECT_EQ(after[kept], before[kept]) << "the surviving bundle moved";
  EXPECT_EQ(Distinct(after), 2u);
  orrery::RemovePlacementGroup(group.GetID());
}

TEST_F(PlacementGroups, ATaskInABundleSeesExactlyTheGpusItsBundleReserved) {
  PlacementGroupCreationOptions options;
  options.strategy = PlacementStrategy::STRICT_PACK;
  options.bundles = {{{"GPU", 1}}, {{"GPU", 1}}};
  PlacementGroup group = orrery::CreatePlacementGroup(options);
  ASSERT_TRUE(group.Wait(30));
  std::set<std::string> seen;
  for (int bundle = 0; bundle < 2; ++bundle) {
    seen.insert(*orrery::Get(
        orrery::Task(VisibleGpus).SetResource("GPU", 1).SetPlacementGroup(group, bundle).Remote()));
  }
  EXPECT_EQ(seen, (std::set<std::string>{"3", "5"}));
  orrery::RemovePlacementGroup(group.GetID());
}

TEST_F(PlacementGroups, WorkForAGroupAnotherProcessRemovedFailsNamingTheGroup) {
  PlacementGroup group = orrery::CreatePlacementGroup(Options(1, 1, PlacementStrategy::PACK));
  ASSERT_TRUE(group.Wait(30));
  ASSERT_TRUE(*orrery::Get(orrery::Task(RemoveGroup).Remote(group.GetID())));
  // This driver never removed it, yet what it sends there fails rather than waits.
  try {
    orrery::Get(orrery::Task(NodeId).SetPlacementGroup(group, 0).Remote());
    ADD_FAILURE() << "a task ran in a removed group";
  } catch (const orrery::TaskUnschedulableError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr(group.GetID()));
  }
  auto member = orrery::Actor(Member::Create).SetPlacementGroup(group, 0).Remote();
  try {
    orrery::Get(member.Task(&Member::Node).Remote());
    ADD_FAILURE() << "an actor started in a removed group";
  } catch (const orrery::ActorDiedError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr(group.GetID()));
  }
}

}  // namespace

int main(int argc, char** argv) {
  // In a worker process this serves tasks and never returns.
  orrery::internal::ServeIfWorker();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
