// A GCS killed with SIGKILL under a running workload comes back by itself (orrery-head starts
// it again) from its RocksDB storage, and running work does not notice: a head started with
// the CLI on a fixed port, two raylets joined to it, a driver through the public API.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <set>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "orrery/api.h"
#include "cli_cluster.h"
#include "temp_root.h"
#include "tests/testing/redis_server.h"

namespace fs = std::filesystem;

// ---- remote code ----

int Square(int x) { return x * x; }

class Counter {
 public:
  static Counter* Create(int start) { return new Counter(start); }
  explicit Counter(int start) : value_(start) {}
  int Add(int n) { return value_ += n; }
  int Pid() { return getpid(); }

 private:
  int value_;
};

ORRERY_REMOTE(Square, Counter::Create, &Counter::Add, &Counter::Pid);

namespace {

using orrery::testing::Cli;
using orrery::testing::RunCli;
using orrery::testing::WithTempDir;

std::string g_root;
// How the suite's head was started: `orrery start --head` again with these brings it back.
std::string g_head_args;
std::string g_head_node;  // the head's raylet
std::string g_address;
std::string g_token;

using orrery::testing::PickPort;

pid_t PidOf(const std::string& name) { return orrery::testing::DaemonPid(g_root, name); }

std::string Self() { return fs::read_symlink("/proc/self/exe").string(); }

// `orrery job VERB ARGS` against the test's cluster.
std::string Job(const std::string& verb_and_args) { return Cli(WithTempDir("job " + verb_and_args, g_root)); }

// The submitted driver (`gcs_restart_test driver survivor MARKER`): calls an actor of its own
// every 50 ms, printing what it answers, until MARKER exists; then says how many calls it made.
int RunSurvivorDriver(const std::string& marker) {
  orrery::Init();
  auto counter = orrery::Actor(Counter::Create).Remote(0);
  int calls = 0;
  while (!fs::exists(marker)) {
    std::printf("tick %d\n", *orrery::Get(counter.Task(&Counter::Add).Remote(1)));
    std::fflush(stdout);
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // pacing, not a wait
  }
  std::printf("finished after %d calls, the actor counted %d\n", calls,
              *orrery::Get(counter.Task(&Counter::Add).Remote(0)));
  orrery::Shutdown();
  return 0;
}

// A head (on `storage_flags`) and two joined raylets, and this process's driver on them.
class GcsRestart : public ::testing::Test {
 protected:
  static void StartCluster(const std::string& storage_flags) {
    g_root = orrery::testing::MakeTempRoot();
    orrery::testing::CliCluster cluster;
    for (int attempt = 0; attempt < 3 && cluster.token.empty(); ++attempt) {
      int port = PickPort();
      cluster = orrery::testing::StartHead(g_root, "--num-cpus 2 --node-ip-address 127.0.0.1 " + storage_flags,
                                           "ORRERY_HEALTH_CHECK_PERIOD_MS=200", port);
      g_head_node = cluster.node_id;
      g_address = cluster.address;
      g_token = cluster.token;
      g_head_args = "start --head --port " + std::to_string(port) + " --temp-dir " + g_root +
                    " --num-cpus 2 --node-ip-address 127.0.0.1 " + storage_flags;
    }
    ASSERT_FALSE(cluster.token.empty());
    ASSERT_TRUE(orrery::testing::JoinRaylet(cluster));
    ASSERT_TRUE(orrery::testing::JoinRaylet(cluster));
    orrery::Config config;
    config.address = cluster.address;
    config.token = cluster.token;
    config.temp_dir = g_root;
    orrery::Init(config);
  }

  // What `orrery stop` said.
  static std::string StopCluster() {
    orrery::Shutdown();
    std::string stopped = Cli("stop --temp-dir " + g_root);
    EXPECT_THAT(stopped, ::testing::HasSubstr("Stopped")) << stopped;
    if (std::getenv("ORRERY_TEST_KEEP_DIR") == nullptr) fs::remove_all(g_root);
    return stopped;
  }

  // How the killed GCS comes back: orrery-head starts it again, or (orrery-head killed too)
  // `orrery start --head` on the same root and port, which adopts the head's running raylet.
  enum class Comeback { kSupervisor, kStartHead };
  static void KillTheGcsUnderAWorkloadAndCheckNothingNoticed(Comeback comeback);
};

class GcsRestartOnRocksDb : public GcsRestart {
 protected:
  static void SetUpTestSuite() { StartCluster(""); }  // RocksDB is a head's default
  static void TearDownTestSuite() {
    EXPECT_THAT(StopCluster(), ::testing::HasSubstr("Deleted the GCS storage"));
  }
};

class GcsRestartOnRedis : public GcsRestart {
 protected:
  static void SetUpTestSuite() {
    auto redis = orrery::testing::RedisServer::Start({});
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = std::move(*redis);
    StartCluster("--gcs-storage " + redis_->Url());
  }
  static void TearDownTestSuite() {
    StopCluster();
    redis_.reset();
  }
  static std::unique_ptr<orrery::testing::RedisServer> redis_;
};
std::unique_ptr<orrery::testing::RedisServer> GcsRestartOnRedis::redis_;

TEST_F(GcsRestartOnRocksDb, AGcsKilledUnderAWorkloadComesBackAndTheWorkloadDoesNotNotice) {
  KillTheGcsUnderAWorkloadAndCheckNothingNoticed(Comeback::kSupervisor);
}

TEST_F(GcsRestartOnRocksDb, AHeadKilledWithItsSupervisorComesBackWithStartHeadAndTheWorkloadDoesNotNotice) {
  KillTheGcsUnderAWorkloadAndCheckNothingNoticed(Comeback::kStartHead);
}

// SIGKILL at 20 random points of actor and placement-group creation (the two-phase commit
// mid-flight): every creation completes once, and nothing is left reserved.
TEST_F(GcsRestartOnRocksDb, TwentyKillsDuringCreationsLoseNothingAndLeakNothing) {
  std::mt19937 random(std::random_device{}());
  for (int round = 0; round < 20; ++round) {
    std::vector<orrery::ActorHandle<Counter>> actors;
    for (int i = 0; i < 2; ++i) actors.push_back(orrery::Actor(Counter::Create).Remote(round));
    orrery::PlacementGroup group = orrery::CreatePlacementGroup(
        orrery::PlacementGroupCreationOptions{"", {{{"CPU", 1}}, {{"CPU", 1}}}, orrery::PlacementStrategy::SPREAD});
    // A random point of the creations (not a wait for anything): where the kill lands.
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 40)(random)));
    pid_t gcs = PidOf("gcs");
    ASSERT_GT(gcs, 0);
    ASSERT_EQ(kill(gcs, SIGKILL), 0);
    for (auto& actor : actors) EXPECT_EQ(*orrery::Get(actor.Task(&Counter::Add).Remote(1)), round + 1) << round;
    EXPECT_TRUE(group.Wait(60)) << "round " << round;
    orrery::RemovePlacementGroup(group.GetID());
    for (auto& actor : actors) actor.Kill();
    ASSERT_TRUE(orrery::testing::Eventually([&] { return PidOf("gcs") != gcs; }));
  }
  // Idle again: every CPU of the three nodes is free (no lease, bundle or worker leaked).
  EXPECT_TRUE(orrery::testing::Eventually([] {
    std::string status = Cli("status --temp-dir " + g_root);
    size_t idle = 0;
    for (size_t at = status.find("CPU 0/2"); at != std::string::npos; at = status.find("CPU 0/2", at + 1)) ++idle;
    return idle == 3 && status.find("0 created, 0 waiting") != std::string::npos;
  }, 60)) << Cli("status --temp-dir " + g_root);
}

// A driver started on a node of the cluster while its GCS is down waits for the GCS (as long as
// its raylet does), then runs: it does not fail because it came at the wrong moment.
TEST_F(GcsRestartOnRocksDb, ADriverStartedWhileTheGcsIsDownWaitsForItThenRuns) {
  pid_t head = PidOf("head");
  pid_t gcs = PidOf("gcs");
  ASSERT_EQ(kill(head, SIGSTOP), 0);
  ASSERT_EQ(kill(gcs, SIGKILL), 0);
  std::string command = "ORRERY_ADDRESS=" + g_address + " ORRERY_TOKEN=" + g_token + " ORRERY_TEMP_DIR=" + g_root +
                        " " + Self() + " driver square 2>&1";
  FILE* driver = popen(command.c_str(), "r");
  ASSERT_NE(driver, nullptr);
  // Its first words: it found no GCS, and waits (the GCS comes back only after this).
  char line[4096] = {0};
  std::string first = fgets(line, sizeof(line), driver) != nullptr ? line : "";
  EXPECT_THAT(first, ::testing::HasSubstr("waits for its GCS: waiting too"));
  ASSERT_EQ(kill(head, SIGCONT), 0);
  std::string rest;
  while (fgets(line, sizeof(line), driver) != nullptr) rest += line;
  int status = pclose(driver);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << first << rest;
  EXPECT_THAT(rest, ::testing::HasSubstr("square: 49\n"));
}

// A node that dies while the GCS is down is found dead by the restarted GCS's health checks
// (nothing told it otherwise), and the cluster goes on without it.
TEST_F(GcsRestartOnRocksDb, ARayletKilledWhileTheGcsIsDownIsFoundDeadOnceItIsBack) {
  std::vector<std::string> nodes = orrery::testing::AliveNodes(g_root);
  ASSERT_EQ(nodes.size(), 3u);
  std::string victim;
  for (const std::string& node : nodes) {
    if (node != orrery::GetNodeId()) victim = node;
  }
  pid_t raylet = PidOf("raylet-" + victim);
  pid_t head = PidOf("head");
  pid_t gcs = PidOf("gcs");
  ASSERT_GT(raylet, 0);
  ASSERT_EQ(kill(head, SIGSTOP), 0);
  ASSERT_EQ(kill(gcs, SIGKILL), 0);
  ASSERT_EQ(kill(raylet, SIGKILL), 0);
  ASSERT_EQ(kill(head, SIGCONT), 0);

  std::string status;
  EXPECT_TRUE(orrery::testing::Eventually([&] {
    status = Cli("status --temp-dir " + g_root);
    return status.find("Nodes: 2 alive, 1 dead") != std::string::npos;
  })) << status;
  EXPECT_THAT(status, ::testing::HasSubstr(victim));
  EXPECT_EQ(*orrery::Get(orrery::Task(Square).Remote(7)), 49);
}

TEST_F(GcsRestartOnRedis, AGcsKilledUnderAWorkloadComesBackAndTheWorkloadDoesNotNotice) {
  KillTheGcsUnderAWorkloadAndCheckNothingNoticed(Comeback::kSupervisor);
}

TEST_F(GcsRestartOnRedis, AHeadKilledWithItsSupervisorComesBackWithStartHeadAndTheWorkloadDoesNotNotice) {
  KillTheGcsUnderAWorkloadAndCheckNothingNoticed(Comeback::kStartHead);
}

// Redis killed under a running GCS: the GCS waits for it (a call that needs a write waits with
// it), work that needs no write goes on, and once Redis is back nothing it acknowledged is
// lost: a GCS killed afterwards restores what was written before and during the outage.
TEST_F(GcsRestartOnRedis, RedisKilledUnderARunningGcsMakesItWaitAndLosesNothingAcknowledged) {
  auto before = orrery::Actor(Counter::Create)
                    .SetName("before-redis-died")
                    .SetLifetime(orrery::ActorLifetime::DETACHED)
                    .Remote(1);
  ASSERT_EQ(*orrery::Get(before.Task(&Counter::Add).Remote(1)), 2);
  redis_->Kill();
  auto during = std::async(std::launch::async, [] {
    auto actor = orrery::Actor(Counter::Create)
                     .SetName("while-redis-was-down")
                     .SetLifetime(orrery::ActorLifetime::DETACHED)
                     .Remote(10);
    return *orrery::Get(actor.Task(&Counter::Add).Remote(1));
  });
  EXPECT_EQ(*orrery::Get(orrery::Task(Square).Remote(3)), 9);
  EXPECT_EQ(*orrery::Get(before.Task(&Counter::Add).Remote(1)), 3);
  // Bounded observation, not synchronization: a creation answered before it is stored would
  // complete now.
  EXPECT_EQ(during.wait_for(std::chrono::milliseconds(500)), std::future_status::timeout);
  ASSERT_TRUE(redis_->Restart().ok());
  EXPECT_EQ(during.get(), 11);

  pid_t gcs = PidOf("gcs");
  ASSERT_EQ(kill(gcs, SIGKILL), 0);
  ASSERT_TRUE(orrery::testing::Eventually([&] { return PidOf("gcs") != gcs && PidOf("gcs") > 0; }));
  auto found_before = orrery::GetActor<Counter>("before-redis-died");
  auto found_during = orrery::GetActor<Counter>("while-redis-was-down");
  ASSERT_TRUE(found_before.has_value() && found_during.has_value());
  EXPECT_EQ(*orrery::Get(found_before->Task(&Counter::Add).Remote(1)), 4);
  EXPECT_EQ(*orrery::Get(found_during->Task(&Counter::Add).Remote(1)), 12);
  found_before->Kill();
  found_during->Kill();
}

void GcsRestart::KillTheGcsUnderAWorkloadAndCheckNothingNoticed(Comeback comeback) {
  auto named = orrery::Actor(Counter::Create)
                   .SetName("keeper")
                   .SetLifetime(orrery::ActorLifetime::DETACHED)
                   .Remote(100);
  auto counter = orrery::Actor(Counter::Create).Remote(0);
  orrery::PlacementGroup group = orrery::CreatePlacementGroup(orrery::PlacementGroupCreationOptions{
      "pair", {{{"CPU", 1}}, {{"CPU", 1}}}, orrery::PlacementStrategy::STRICT_SPREAD});
  ASSERT_TRUE(group.Wait(30));
  auto placed = orrery::Actor(Counter::Create).SetPlacementGroup(group, 1).Remote(50);
  ASSERT_EQ(*orrery::Get(placed.Task(&Counter::Add).Remote(1)), 51);
  ASSERT_EQ(*orrery::Get(named.Task(&Counter::Add).Remote(1)), 101);
  ASSERT_EQ(*orrery::Get(counter.Task(&Counter::Add).Remote(1)), 1);
  int named_pid = *orrery::Get(named.Task(&Counter::Pid).Remote());
  int counter_pid = *orrery::Get(counter.Task(&Counter::Pid).Remote());
  auto alive_nodes = [] {
    std::vector<std::string> nodes = orrery::testing::AliveNodes(g_root);
    return std::set<std::string>(nodes.begin(), nodes.end());
  };
  std::set<std::string> nodes_before = alive_nodes();
  ASSERT_EQ(nodes_before.size(), 3u);
  // A job submitted from the CLI, its driver calling its actor when the GCS dies.
  static int jobs = 0;
  std::string job = "survivor-" + std::to_string(++jobs);
  std::string marker = g_root + "/" + job + "-may-finish";
  ASSERT_THAT(Job("submit --no-wait --submission-id " + job + " -- " + Self() + " driver survivor " + marker),
              ::testing::HasSubstr(job));
  ASSERT_TRUE(orrery::testing::Eventually([&] { return Job("logs " + job).find("tick 2\n") != std::string::npos; }))
      << Job("status " + job) << Job("logs " + job);
  std::string job_driver = orrery::testing::Match(Job("status " + job), "[Dd]river pid:\\s*(\\d+)");

  // The supervisor is held still (or killed first), so that the GCS stays down for 3 s after
  // its SIGKILL.
  pid_t head = PidOf("head");
  pid_t gcs = PidOf("gcs");
  pid_t head_raylet = orrery::testing::RayletPid(g_root, g_head_node);
  ASSERT_GT(head, 0);
  ASSERT_GT(gcs, 0);
  ASSERT_EQ(kill(head, comeback == Comeback::kSupervisor ? SIGSTOP : SIGKILL), 0);
  ASSERT_EQ(kill(gcs, SIGKILL), 0);

  // Work that does not need the GCS goes on while it is down: tasks and actor calls.
  auto down_until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  int rounds = 0;
  while (std::chrono::steady_clock::now() < down_until) {
    std::vector<orrery::ObjectRef<int>> squares;
    for (int i = 0; i < 10; ++i) squares.push_back(orrery::Task(Square).Remote(i));
    for (int i = 0; i < 10; ++i) ASSERT_EQ(*orrery::Get(squares[i]), i * i);
    ASSERT_EQ(*orrery::Get(counter.Task(&Counter::Add).Remote(1)), 2 + rounds);
    ++rounds;
  }
  EXPECT_GT(rounds, 0);
  if (comeback == Comeback::kSupervisor) {
    ASSERT_EQ(kill(head, SIGCONT), 0);
  } else {
    orrery::testing::CliRun restarted = RunCli(g_head_args);
    ASSERT_EQ(restarted.exit_code, 0) << restarted.output;
    EXPECT_THAT(restarted.output, ::testing::HasSubstr("Restored:"));
    EXPECT_THAT(restarted.output, ::testing::HasSubstr("adopted, pid " + std::to_string(head_raylet)));
    EXPECT_NE(PidOf("head"), head);
  }

  // It is back: every node alive, nothing restarted, the name resolves, counters continue.
  ASSERT_TRUE(orrery::testing::Eventually([&] { return alive_nodes() == nodes_before; }))
      << Cli("status --temp-dir " + g_root);
  EXPECT_NE(PidOf("gcs"), gcs);
  auto found = orrery::GetActor<Counter>("keeper");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*orrery::Get(found->Task(&Counter::Add).Remote(1)), 102);
  EXPECT_EQ(*orrery::Get(found->Task(&Counter::Pid).Remote()), named_pid);
  EXPECT_EQ(*orrery::Get(counter.Task(&Counter::Add).Remote(1)), 2 + rounds);
  EXPECT_EQ(*orrery::Get(counter.Task(&Counter::Pid).Remote()), counter_pid);
  EXPECT_EQ(orrery::GetPlacementGroupById(group.GetID()).GetState(), orrery::PlacementGroupState::CREATED);
  EXPECT_EQ(*orrery::Get(placed.Task(&Counter::Add).Remote(1)), 52);
  // Work that needs the GCS works again: a new actor, a new group.
  auto fresh = orrery::Actor(Counter::Create).Remote(7);
  EXPECT_EQ(*orrery::Get(fresh.Task(&Counter::Add).Remote(1)), 8);
  orrery::PlacementGroup another = orrery::CreatePlacementGroup(orrery::PlacementGroupCreationOptions{
      "another", {{{"CPU", 1}}}, orrery::PlacementStrategy::PACK});
  EXPECT_TRUE(another.Wait(30));
  orrery::RemovePlacementGroup(another.GetID());
  orrery::RemovePlacementGroup(group.GetID());
  named.Kill();

  // The job's driver lived through it (the same process), and the restarted GCS reports how it
  // ended: status, exit code and every line of its log, from before, during and after the gap.
  std::string status = Job("status " + job);
  EXPECT_THAT(status, ::testing::HasSubstr("RUNNING"));
  EXPECT_EQ(orrery::testing::Match(status, "[Dd]river pid:\\s*(\\d+)"), job_driver);
  std::ofstream(marker) << "go\n";
  std::string log = Cli(WithTempDir("job logs --follow " + job, g_root));
  std::string calls = orrery::testing::Match(log, "finished after (\\d+) calls");
  ASSERT_FALSE(calls.empty()) << log;
  EXPECT_THAT(log, ::testing::HasSubstr("the actor counted " + calls + "\n")) << log;
  EXPECT_THAT(log, ::testing::HasSubstr("tick 1\ntick 2\n"));
  EXPECT_THAT(log, ::testing::HasSubstr("tick " + calls + "\n"));
  status = Job("status " + job);
  // The head's raylet was never replaced.
  EXPECT_EQ(orrery::testing::RayletPid(g_root, g_head_node), head_raylet);
  EXPECT_THAT(status, ::testing::HasSubstr("SUCCEEDED")) << status;
  EXPECT_EQ(orrery::testing::Match(status, "Exit code:\\s*(\\d+)"), "0") << status;
}

// Heads started with the CLI on storage that exists: a backup restores the cluster (its token
// too); storage of another token or damaged storage is refused, naming why.
class GcsStorageCli : public ::testing::Test {
 protected:
  void SetUp() override { root_ = orrery::testing::MakeTempRoot(); }
  void TearDown() override {
    Cli("stop --temp-dir " + root_ + "/a");
    Cli("stop --temp-dir " + root_ + "/b");
    if (std::getenv("ORRERY_TEST_KEEP_DIR") == nullptr) fs::remove_all(root_);
  }
  // `orrery start --head` under root_/NAME on a free port, with `flags`: its output.
  orrery::testing::CliRun StartHeadIn(const std::string& name, const std::string& flags) {
    return orrery::testing::RunCli("start --head --num-cpus 1 --node-ip-address 127.0.0.1 --port " +
                                   std::to_string(PickPort()) + " --temp-dir " + root_ + "/" + name + " " + flags);
  }
  std::string root_;
};

// Dead actors are kept up to --dead-actor-history, the oldest forgotten first, in storage too:
// a restarted GCS knows the same ones.
TEST_F(GcsStorageCli, DeadActorsAreKeptUpToTheirBoundAndSoIsTheStorage) {
  int port = PickPort();
  orrery::testing::CliRun head = orrery::testing::RunCli(
      "start --head --num-cpus 1 --node-ip-address 127.0.0.1 --port " + std::to_string(port) + " --temp-dir " +
          root_ + "/a",
      "ORRERY_DEAD_ACTOR_HISTORY=2");
  ASSERT_EQ(head.exit_code, 0) << head.output;
  orrery::Config config;
  config.address = orrery::testing::Match(head.output, "GCS address: (\\S+)");
  config.token = orrery::testing::Match(head.output, "--token (\\S+)");
  config.temp_dir = root_ + "/a";
  orrery::Init(config);
  for (int i = 0; i < 4; ++i) {
    auto actor = orrery::Actor(Counter::Create).Remote(i);
    ASSERT_EQ(*orrery::Get(actor.Task(&Counter::Add).Remote(1)), i + 1);
    actor.Kill();
  }
  auto dead_actors = [&] {
    std::string listed = Cli("list actors --filter state=DEAD --format json --temp-dir " + root_ + "/a");
    auto rows = nlohmann::json::parse(listed, nullptr, /*allow_exceptions=*/false);
    return rows.is_array() ? static_cast<int>(rows.size()) : -1;
  };
  EXPECT_TRUE(orrery::testing::Eventually([&] { return dead_actors() == 2; })) << dead_actors();
  pid_t gcs = orrery::testing::DaemonPid(root_ + "/a", "gcs");
  ASSERT_EQ(kill(gcs, SIGKILL), 0);
  ASSERT_TRUE(orrery::testing::Eventually([&] {
    pid_t now = orrery::testing::DaemonPid(root_ + "/a", "gcs");
    return now > 0 && now != gcs;
  }));
  EXPECT_TRUE(orrery::testing::Eventually([&] { return dead_actors() == 2; })) << dead_actors();
  orrery::Shutdown();
}

TEST_F(GcsStorageCli, ABackupRestoresTheClusterWithItsTokenInANewHead) {
  orrery::testing::CliRun a = StartHeadIn("a", "");
  ASSERT_EQ(a.exit_code, 0) << a.output;
  std::string token = orrery::testing::Match(a.output, "--token (\\S+)");
  std::string backup = root_ + "/backup";
  std::string made = Cli("gcs backup " + backup + " --temp-dir " + root_ + "/a");
  ASSERT_THAT(made, ::testing::HasSubstr("Backed up")) << made;
  ASSERT_TRUE(fs::exists(backup + "/CURRENT"));
  EXPECT_THAT(Cli("gcs backup " + backup + " --temp-dir " + root_ + "/a"), ::testing::HasSubstr("exists"));
  std::string stopped = Cli("stop --temp-dir " + root_ + "/a");
  EXPECT_THAT(stopped, ::testing::HasSubstr("Deleted the GCS storage")) << stopped;

  orrery::testing::CliRun b = StartHeadIn("b", "--gcs-storage rocksdb:" + backup);
  ASSERT_EQ(b.exit_code, 0) << b.output;
  EXPECT_THAT(b.output, ::testing::HasSubstr("Restored:    nodes alive 1"));
  EXPECT_EQ(orrery::testing::Match(b.output, "--token (\\S+)"), token) << b.output;
  // The old head's raylet is gone: the restored cluster finds it dead, and has the new one.
  EXPECT_TRUE(orrery::testing::Eventually([&] {
    return Cli("status --temp-dir " + root_ + "/b").find("Nodes: 1 alive, 1 dead") != std::string::npos;
  })) << Cli("status --temp-dir " + root_ + "/b");
}

TEST_F(GcsStorageCli, StorageOfAnotherTokenOrDamagedStorageIsRefusedNamingWhy) {
  orrery::testing::CliRun a = StartHeadIn("a", "");
  ASSERT_EQ(a.exit_code, 0) << a.output;
  std::string backup = root_ + "/backup";
  ASSERT_THAT(Cli("gcs backup " + backup + " --temp-dir " + root_ + "/a"), ::testing::HasSubstr("Backed up"));
  Cli("stop --temp-dir " + root_ + "/a");

  orrery::testing::CliRun other = StartHeadIn("b", "--token another-token --gcs-storage rocksdb:" + backup);
  EXPECT_NE(other.exit_code, 0);
  EXPECT_THAT(other.output, ::testing::AllOf(::testing::HasSubstr("differs"), ::testing::HasSubstr("--token"),
                                             ::testing::HasSubstr(backup)));

  std::ofstream(backup + "/CURRENT", std::ios::trunc) << "not a manifest name\n";
  orrery::testing::CliRun damaged = StartHeadIn("b", "--gcs-storage rocksdb:" + backup);
  EXPECT_NE(damaged.exit_code, 0);
  EXPECT_THAT(damaged.output, ::testing::HasSubstr(backup)) << damaged.output;
  EXPECT_THAT(damaged.output, ::testing::HasSubstr("--gcs-storage-reset")) << damaged.output;

  orrery::testing::CliRun reset = StartHeadIn("b", "--gcs-storage-reset --gcs-storage rocksdb:" + backup);
  EXPECT_EQ(reset.exit_code, 0) << reset.output;
  EXPECT_THAT(reset.output, ::testing::Not(::testing::HasSubstr("Restored")));
}

// Whether `pid` has exited (a zombie nobody reaped counts as exited).
bool Exited(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, comm, state;
  if (!(stat >> pid_field >> comm >> state)) return true;
  return state == "Z";
}

TEST_F(GcsStorageCli, OnMemoryStorageARestartedGcsIsANewClusterThatTheOldRayletsLeave) {
  int port = PickPort();
  // The same token both times: the old raylet is let in, and must find out from the cluster id.
  std::string flags = "--num-cpus 1 --node-ip-address 127.0.0.1 --gcs-storage memory --token same --port " +
                      std::to_string(port) + " --temp-dir " + root_ + "/a";
  orrery::testing::CliRun first = orrery::testing::RunCli("start --head " + flags);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_THAT(first.output, ::testing::HasSubstr("Storage:     memory"));
  std::string node = orrery::testing::Match(first.output, "Node id: +(\\S+)");
  std::string root = root_ + "/a";
  EXPECT_EQ(orrery::testing::DaemonPid(root, "head"), 0) << "a GCS that keeps nothing is not restarted";
  pid_t raylet = orrery::testing::RayletPid(root, node);
  pid_t gcs = orrery::testing::DaemonPid(root, "gcs");
  ASSERT_GT(raylet, 0);
  ASSERT_GT(gcs, 0);
  ASSERT_EQ(kill(gcs, SIGKILL), 0);
  ASSERT_TRUE(orrery::testing::Eventually([&] { return Exited(gcs); }));

  orrery::testing::CliRun second = orrery::testing::RunCli("start --head " + flags);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  // The old raylet finds a GCS that does not know it and serves another cluster: it leaves,
  // rather than mix its workers and objects into a cluster that knows nothing of them.
  EXPECT_TRUE(orrery::testing::Eventually([&] { return Exited(raylet); }));
  EXPECT_TRUE(orrery::testing::Eventually([&] {
    return Cli("status --temp-dir " + root_ + "/a").find("Nodes: 1 alive, 0 dead") != std::string::npos;
  })) << Cli("status --temp-dir " + root_ + "/a");
}

// A backup older than the raylets' state, restored under them (a head brought back on last
// night's backup while its nodes ran on): the GCS believes an actor alive on a process that is
// gone, and a placement group placed on a node that holds nothing for it. The node, registering
// again with the restored GCS, reports what it hosts, and the GCS reconciles: the actor is
// restarted (its max_restarts allows it), the process a newer GCS had started for it is freed
// (nobody holds its lease now), and the group's bundle is placed again.
TEST_F(GcsStorageCli, AnOlderBackupRestoredUnderRunningRayletsIsReconciledWithWhatTheyHost) {
  std::string root = root_ + "/a";
  std::string head_args = "start --head --num-cpus 4 --node-ip-address 127.0.0.1 --port " + std::to_string(PickPort()) +
                          " --temp-dir " + root;
  orrery::testing::CliRun head = orrery::testing::RunCli(head_args);
  ASSERT_EQ(head.exit_code, 0) << head.output;
  orrery::Config config;
  config.address = orrery::testing::Match(head.output, "GCS address: (\\S+)");
  config.token = orrery::testing::Match(head.output, "--token (\\S+)");
  config.temp_dir = root;
  config.job_namespace = "reconcile";
  orrery::Init(config);
  auto counter = orrery::Actor(Counter::Create).SetMaxRestarts(2).SetMaxTaskRetries(-1).Remote(100);
  int first = *orrery::Get(counter.Task(&Counter::Pid).Remote());
  orrery::PlacementGroup group = orrery::CreatePlacementGroup(
      orrery::PlacementGroupCreationOptions{"held", {{{"CPU", 1}}}, orrery::PlacementStrategy::PACK});
  ASSERT_TRUE(group.Wait(30));
  // Removed by another driver (a submitted job): this one still holds its handle, and learns
  // of the removal only from the GCS.
  std::string remove_group = "job submit --temp-dir " + root + " -- " + Self() + " driver remove-group reconcile held";
  std::string backup = root_ + "/backup";
  ASSERT_THAT(Cli("gcs backup " + backup + " --temp-dir " + root), ::testing::HasSubstr("Backed up"));

  // Since the backup: the actor's process died and was replaced, and the group was removed.
  ASSERT_EQ(kill(first, SIGKILL), 0);
  int second = *orrery::Get(counter.Task(&Counter::Pid).Remote(), 30'000);
  ASSERT_NE(second, first);
  orrery::testing::CliRun removed = orrery::testing::RunCli(remove_group);
  ASSERT_EQ(removed.exit_code, 0) << removed.output;
  ASSERT_TRUE(orrery::testing::Eventually([&] {
    return Cli("list placement-groups --temp-dir " + root).find("REMOVED") != std::string::npos;
  })) << Cli("list placement-groups --temp-dir " + root);

  // The head dies; a new one starts on the backup, on the same port, under the running raylet.
  pid_t supervisor = orrery::testing::DaemonPid(root, "head");
  pid_t gcs = orrery::testing::DaemonPid(root, "gcs");
  ASSERT_GT(supervisor, 0);
  ASSERT_GT(gcs, 0);
  ASSERT_EQ(kill(supervisor, SIGKILL), 0);
  ASSERT_EQ(kill(gcs, SIGKILL), 0);
  ASSERT_TRUE(orrery::testing::Eventually([&] { return Exited(supervisor) && Exited(gcs); }));
  orrery::testing::CliRun restored = orrery::testing::RunCli(head_args + " --gcs-storage rocksdb:" + backup);
  ASSERT_EQ(restored.exit_code, 0) << restored.output;
  ASSERT_THAT(restored.output, ::testing::HasSubstr("Restored:")) << restored.output;

  // The actor runs on a third process; the second is ended.
  int third = 0;
  EXPECT_TRUE(orrery::testing::Eventually([&] {
    third = *orrery::Get(counter.Task(&Counter::Pid).Remote(), 30'000);
    return third != first && third != second;
  })) << "the actor still answers from pid " << third;
  EXPECT_TRUE(orrery::testing::Eventually([&] { return Exited(second); }));
  EXPECT_EQ(*orrery::Get(counter.Task(&Counter::Add).Remote(1)), 101) << "a restart runs the constructor again";
  // The group's bundle is held again: work placed in it runs.
  EXPECT_EQ(*orrery::Get(orrery::Task(Square).SetPlacementGroup(group, 0).Remote(6), 30'000), 36);
  orrery::Shutdown();
}

}  // namespace

int main(int argc, char** argv) {
  // In a worker process this serves tasks and never returns.
  orrery::internal::ServeIfWorker();
  if (argc >= 4 && std::string(argv[1]) == "driver" && std::string(argv[2]) == "survivor") {
    return RunSurvivorDriver(argv[3]);
  }
  if (argc >= 5 && std::string(argv[1]) == "driver" && std::string(argv[2]) == "remove-group") {
    orrery::Config config;
    config.job_namespace = argv[3];
    orrery::Init(config);
    orrery::RemovePlacementGroup(orrery::GetPlacementGroup(argv[4]).GetID());
    std::printf("removed %s\n", argv[4]);
    orrery::Shutdown();
    return 0;
  }
  if (argc >= 3 && std::string(argv[1]) == "driver" && std::string(argv[2]) == "square") {
    orrery::Init();
    std::printf("square: %d\n", *orrery::Get(orrery::Task(Square).Remote(7)));
    orrery::Shutdown();
    return 0;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
