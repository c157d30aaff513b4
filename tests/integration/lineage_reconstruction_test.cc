// Lineage reconstruction on a real cluster: a head (2 CPUs) and, for each test, a raylet joined
// and then killed with SIGKILL, taking the only copies of the objects in its store. An owner
// that still needs one re-runs the task that made it (recursively for its freed arguments);
// what cannot be made again fails typed, saying why. Tests that need a driver of their own (a
// smaller lineage bound, or a driver on the node that dies) run this binary as one.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli_cluster.h"
#include "cli_cluster_driver.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orrery/api.h"
#include "temp_root.h"

namespace fs = std::filesystem;

// ---- remote code ----

namespace {
constexpr int kSize = 2 << 20;  // in the shared store, and past the reader's cache of small objects

std::string Here() {
  const char* id = std::getenv("ORRERY_NODE_ID");
  return id == nullptr ? "" : id;
}

// Counts a run of `what` in `dir` (one line per run, whichever node ran it).
void CountRun(const std::string& dir, const std::string& what) {
  std::ofstream(dir + "/" + what, std::ios::app) << Here() << "\n";
}

std::vector<uint8_t> Pattern(int size, int seed) {
  std::vector<uint8_t> bytes(size);
  for (uint32_t i = 0; i < static_cast<uint32_t>(size); ++i) bytes[i] = static_cast<uint8_t>((i * 131u + seed) >> 3);
  return bytes;
}

std::vector<uint8_t> Shifted(std::vector<uint8_t> bytes, int by) {
  for (uint8_t& byte : bytes) byte = static_cast<uint8_t>(byte + by);
  return bytes;
}
}  // namespace

std::vector<uint8_t> Make(int size, int seed, std::string dir) {
  CountRun(dir, "make-" + std::to_string(seed));
  return Pattern(size, seed);
}

std::vector<uint8_t> Shift(std::vector<uint8_t> bytes, int by, std::string dir) {
  CountRun(dir, "shift-" + std::to_string(by));
  return Shifted(std::move(bytes), by);
}

// The same, from a ref inside a value (not resolved before the call).
std::vector<uint8_t> ShiftInner(std::vector<orrery::ObjectRef<std::vector<uint8_t>>> refs, int by, std::string dir) {
  CountRun(dir, "shift-inner-" + std::to_string(by));
  return Shifted(*orrery::Get(refs[0]), by);
}

std::string NodeOf() { return Here(); }

class Maker {
 public:
  static Maker* Create() { return new Maker(); }
  std::vector<uint8_t> Make(int size, int seed, std::string dir) { return ::Make(size, seed, std::move(dir)); }
};

ORRERY_REMOTE(Make, Shift, ShiftInner, NodeOf, Maker::Create, &Maker::Make);

namespace {

using orrery::testing::Cli;

std::string g_root;
orrery::testing::CliCluster g_cluster;

std::string Self() { return fs::read_symlink("/proc/self/exe").string(); }

int Runs(const std::string& dir, const std::string& what) {
  std::ifstream in(dir + "/" + what);
  int lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  return lines;
}

// Joins a raylet with one `name` resource under `root` (the suite's by default, else as from
// another host: with the CA's fingerprint): its node id.
std::string JoinNode(const std::string& name, const std::string& root = "") {
  std::string where = root.empty() ? " --temp-dir " + g_root : " --temp-dir " + root + " --ca-hash " + g_cluster.ca_hash;
  std::string joined = Cli("start --address " + g_cluster.address + " --token " + g_cluster.token + where +
                           " --num-cpus 2 --node-ip-address 127.0.0.1 --resources '{\"" + name + "\": 1}'");
  EXPECT_THAT(joined, ::testing::Not(::testing::HasSubstr("rror"))) << joined;
  return orrery::testing::Match(joined, "Started a raylet \\(node ([0-9a-f]+)\\)");
}

// SIGKILLs the raylet of `node` (its session under `root`) and waits until it is gone.
::testing::AssertionResult KillNode(const std::string& node, const std::string& root = "") {
  pid_t raylet = orrery::testing::RayletPid(root.empty() ? g_root : root, node);
  if (raylet <= 0) return ::testing::AssertionFailure() << "no raylet pid for node " << node;
  if (kill(raylet, SIGKILL) != 0) return ::testing::AssertionFailure() << "cannot kill raylet " << raylet;
  if (!orrery::testing::Eventually([raylet] { return kill(raylet, 0) != 0; }, 30)) {
    return ::testing::AssertionFailure() << "raylet " << raylet << " outlived SIGKILL";
  }
  return ::testing::AssertionSuccess();
}

orrery::SchedulingStrategy Prefer(const std::string& node) {
  return orrery::SchedulingStrategy::NodeAffinity(node, /*soft=*/true);
}

template <typename T>
void AwaitReady(const orrery::ObjectRef<T>& ref) {
  ASSERT_EQ(orrery::Wait(std::vector<orrery::ObjectRef<T>>{ref}, 1, 60'000).ready.size(), 1u);
}

// `words`, each in single quotes, for a shell.
std::string Quoted(const std::vector<std::string>& words) {
  std::string line;
  for (const std::string& word : words) line += " '" + word + "'";
  return line;
}

// Runs this binary as a driver of its own (`mode` and `args`, quoted); its output.
std::string RunDriver(const std::string& mode, const std::string& args) {
  std::string command = "ORRERY_ADDRESS=" + g_cluster.address + " ORRERY_TOKEN=" + g_cluster.token + " " + Self() +
                        " driver " + mode + " " + args + " 2>&1";
  if (args.find("''") != std::string::npos) return "an empty driver argument: " + args;
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) out.append(buffer, n);
  pclose(pipe);
  return out;
}

class LineageReconstruction : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_root = orrery::testing::MakeTempRoot();
    // Health checks every 200 ms: a killed node is declared dead within about a second.
    g_cluster = orrery::testing::StartHead(g_root, "--num-cpus 2 --node-ip-address 127.0.0.1",
                                           "ORRERY_HEALTH_CHECK_PERIOD_MS=200");
    orrery::testing::InitDriver(g_cluster, g_root);
  }
  static void TearDownTestSuite() { orrery::testing::ShutdownDriverAndCluster(g_root); }
  void SetUp() override {
    runs_ = g_root + "/runs-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(runs_);
  }
  std::string runs_;
};

TEST_F(LineageReconstruction, AResultLostWithItsNodeIsMadeAgainThroughTwoLevelsOfLineage) {
  std::string victim = JoinNode("victim-1");
  orrery::ObjectRef<std::vector<uint8_t>> shifted;
  {
    // The user keeps only the second level: the first one's value is freed once it was used,
    // and only the lineage knows how to make it.
    auto made = orrery::Task(Make).SetSchedulingStrategy(Prefer(victim)).Remote(kSize, 1, runs_);
    shifted = orrery::Task(Shift).SetSchedulingStrategy(Prefer(victim)).Remote(made, 5, runs_);
    AwaitReady(shifted);
  }
  ASSERT_EQ(Runs(runs_, "shift-5"), 1);
  ASSERT_TRUE(KillNode(victim));
  EXPECT_EQ(*orrery::Get(shifted), Shifted(Pattern(kSize, 1), 5));
  EXPECT_EQ(Runs(runs_, "make-1"), 2) << "the freed first level was not made again";
  EXPECT_EQ(Runs(runs_, "shift-5"), 2);
}

TEST_F(LineageReconstruction, ARefInsideAnArgumentIsPartOfTheLineage) {
  std::string victim = JoinNode("victim-7");
  orrery::ObjectRef<std::vector<uint8_t>> shifted;
  {
    auto made = orrery::Task(Make).SetSchedulingStrategy(Prefer(victim)).Remote(kSize, 10, runs_);
    std::vector<orrery::ObjectRef<std::vector<uint8_t>>> inside = {made};
    shifted = orrery::Task(ShiftInner).SetSchedulingStrategy(Prefer(victim)).Remote(inside, 2, runs_);
    AwaitReady(shifted);
  }
  ASSERT_TRUE(KillNode(victim));
  EXPECT_EQ(*orrery::Get(shifted), Shifted(Pattern(kSize, 10), 2));
  EXPECT_EQ(Runs(runs_, "make-10"), 2) << "the ref inside the argument was not made again";
  EXPECT_EQ(Runs(runs_, "shift-inner-2"), 2);
}

TEST_F(LineageReconstruction, ALostArgumentTheReRunTaskReadsIsMadeAgainByItsOwner) {
  std::string victim = JoinNode("victim-2");
  // Both levels are held, so both markers name the dead node: the second level's re-run finds
  // its argument lost only when its worker reads it, and asks the owner (GetObject.lost_at).
  auto made = orrery::Task(Make).SetSchedulingStrategy(Prefer(victim)).Remote(kSize, 2, runs_);
  auto shifted = orrery::Task(Shift).SetSchedulingStrategy(Prefer(victim)).Remote(made, 3, runs_);
  AwaitReady(shifted);
  ASSERT_TRUE(KillNode(victim));
  EXPECT_EQ(*orrery::Get(shifted), Shifted(Pattern(kSize, 2), 3));
  EXPECT_EQ(*orrery::Get(made), Pattern(kSize, 2));
  EXPECT_EQ(Runs(runs_, "make-2"), 2) << "made again once, for both readers";
  EXPECT_EQ(Runs(runs_, "shift-3"), 2);
}

TEST_F(LineageReconstruction, TasksWaitingForALostArgumentLendTheirCpusToItsReRun) {
  std::string victim = JoinNode("victim-busy");
  auto made = orrery::Task(Make).SetSchedulingStrategy(Prefer(victim)).Remote(kSize, 4, runs_);
  AwaitReady(made);
  ASSERT_TRUE(KillNode(victim));
  // Two readers take both CPUs left (the head's) and find their argument lost. Its re-run needs
  // a CPU: they lend theirs while they wait, as a Get in a task does (holding them deadlocked).
  std::vector<orrery::ObjectRef<std::vector<uint8_t>>> readers;
  for (int by : {5, 6}) readers.push_back(orrery::Task(Shift).Remote(made, by, runs_));
  for (int i = 0; i < 2; ++i) EXPECT_EQ(*orrery::Get(readers[i], 60'000), Shifted(Pattern(kSize, 4), 5 + i));
  EXPECT_EQ(Runs(runs_, "make-4"), 2) << "made again once, for both readers";
}

TEST_F(LineageReconstruction, AResultWhoseTaskMayNotRetryFailsNamingTheObjectItsOwnerAndTheNode) {
  std::string victim = JoinNode("victim-3");
  auto made = orrery::Task(Make).SetMaxRetries(0).SetSchedulingStrategy(Prefer(victim)).Remote(kSize, 4, runs_);
  AwaitReady(made);
  ASSERT_TRUE(KillNode(victim));
  try {
    orrery::Get(made);
    ADD_FAILURE() << "a lost object whose task may not retry was read";
  } catch (const orrery::ObjectReconstructionFailedMaxAttemptsExceededError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr(made.ID()));
    EXPECT_THAT(e.what(), ::testing::HasSubstr(victim));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("Make"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("owner"));
  }
  EXPECT_EQ(Runs(runs_, "make-4"), 1);
}

TEST_F(LineageReconstruction, AnActorCallsLostResultIsMadeAgainOnlyWhenTheActorAllowsTaskRetries) {
  std::string victim = JoinNode("victim-6");
  // Both restart elsewhere; only the first one's calls may be run again.
  auto retrying =
      orrery::Actor(Maker::Create).SetMaxRestarts(1).SetMaxTaskRetries(1).SetSchedulingStrategy(Prefer(victim)).Remote();
  auto strict = orrery::Actor(Maker::Create).SetMaxRestarts(1).SetSchedulingStrategy(Prefer(victim)).Remote();
  auto made = retrying.Task(&Maker::Make).Remote(kSize, 8, runs_);
  auto once = strict.Task(&Maker::Make).Remote(kSize, 9, runs_);
  AwaitReady(made);
  AwaitReady(once);
  ASSERT_TRUE(KillNode(victim));
  EXPECT_EQ(*orrery::Get(made), Pattern(kSize, 8));
  EXPECT_EQ(Runs(runs_, "make-8"), 2);
  EXPECT_THROW(orrery::Get(once), orrery::ObjectReconstructionFailedMaxAttemptsExceededError);
  EXPECT_EQ(Runs(runs_, "make-9"), 1);
}

TEST_F(LineageReconstruction, AnObjectWhoseLineageWasEvictedFailsSayingSo) {
  // A driver keeping no lineage at all (1 byte), on a node of its own under another root.
  std::string root = orrery::testing::MakeTempRoot();
  JoinNode("driver-4", root);
  std::string victim = JoinNode("victim-4");
  ASSERT_FALSE(victim.empty());
  std::string out = RunDriver("evicted", Quoted({root, g_root, victim, runs_}));
  EXPECT_THAT(out, ::testing::HasSubstr("ObjectReconstructionFailedLineageEvictedError"));
  EXPECT_THAT(out, ::testing::HasSubstr("max_lineage_bytes"));
  Cli("stop --temp-dir " + root);
  fs::remove_all(root);
}

TEST_F(LineageReconstruction, APutValueLostWithItsNodeSaysAPutCannotBeMadeAgain) {
  // The driver's own node dies (the driver lives on): its Put value's only copy was there.
  std::string root = orrery::testing::MakeTempRoot();
  std::string node = JoinNode("driver-5", root);
  ASSERT_FALSE(node.empty());
  std::string out = RunDriver("put", Quoted({root, node}));
  EXPECT_THAT(out, ::testing::HasSubstr("ObjectLostError"));
  EXPECT_THAT(out, ::testing::HasSubstr("stored by Put"));
  Cli("stop --temp-dir " + root);
  fs::remove_all(root);
}

// ---- the drivers of their own ----

orrery::Config DriverConfig(const std::string& root) {
  orrery::Config config;
  config.token = std::getenv("ORRERY_TOKEN");
  config.temp_dir = root;  // prefers the raylet under this root
  return config;
}

// Reads `ref` and prints what it raised.
template <typename T>
void PrintGetError(const orrery::ObjectRef<T>& ref) {
  try {
    orrery::Get(ref, 60'000);
    std::printf("read\n");
  } catch (const orrery::ObjectReconstructionFailedLineageEvictedError& e) {
    std::printf("ObjectReconstructionFailedLineageEvictedError: %s\n", e.what());
  } catch (const orrery::ObjectLostError& e) {
    std::printf("ObjectLostError: %s\n", e.what());
  }
}

// `victim`'s session is under `victim_root`.
int RunEvictedDriver(const std::string& root, const std::string& victim_root, const std::string& victim,
                     const std::string& runs) {
  orrery::Config config = DriverConfig(root);
  config.max_lineage_bytes = 1;
  orrery::Init(config);
  auto made = orrery::Task(Make).SetSchedulingStrategy(Prefer(victim)).Remote(kSize, 6, runs);
  orrery::Wait(std::vector<orrery::ObjectRef<std::vector<uint8_t>>>{made}, 1, 60'000);
  if (!KillNode(victim, victim_root)) return 1;
  PrintGetError(made);
  orrery::Shutdown();
  return 0;
}

int RunPutDriver(const std::string& root, const std::string& node) {
  orrery::Config config = DriverConfig(root);
  orrery::Init(config);
  if (orrery::GetNodeId() != node) {
    std::printf("the driver joined node %s, not %s\n", orrery::GetNodeId().c_str(), node.c_str());
    return 1;
  }
  auto put = orrery::Put(Pattern(kSize, 7));
  if (!KillNode(node, root)) return 1;
  PrintGetError(put);
  std::fflush(stdout);
  std::_Exit(0);  // no Shutdown: its raylet is gone
}

}  // namespace

int main(int argc, char** argv) {
  // In a worker process this serves tasks and never returns.
  orrery::internal::ServeIfWorker();
  if (argc >= 2 && std::string(argv[1]) == "driver") {
    // Never the suite: a driver run with missing arguments must not start the tests again.
    std::string mode = argc >= 3 ? argv[2] : "";
    if (mode == "evicted" && argc == 7) return RunEvictedDriver(argv[3], argv[4], argv[5], argv[6]);
    if (mode == "put" && argc == 5) return RunPutDriver(argv[3], argv[4]);
    std::printf("bad driver arguments (%d)\n", argc);
    return 2;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
