// Remote functions end to end, through the public API only: Init() starts a real local cluster
// (orrery-gcs, orrery-raylet) and this test binary is the job's worker program too (single-binary
// mode), so every task below runs in a real worker process. The same tests run again in local
// mode (test_mode.h), where every task runs in this process.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "orrery/api.h"
#include "cli_cluster.h"
#include "temp_root.h"
#include "test_mode.h"

namespace fs = std::filesystem;

// ---- remote functions ----

int Add(int a, int b) { return a + b; }
std::string Echo(std::string text) { return text; }
std::vector<double> Scale(std::vector<double> values, double factor) {
  for (double& v : values) v *= factor;
  return values;
}
struct Point {
  int x = 0;
  double y = 0;
  std::string name;
  MSGPACK_DEFINE(x, y, name);
};
Point Move(Point p, int dx) {
  p.x += dx;
  return p;
}
std::map<std::string, std::vector<int>> Invert(std::vector<std::string> words) {
  std::map<std::string, std::vector<int>> out;
  for (size_t i = 0; i < words.size(); ++i) out[words[i]].push_back(static_cast<int>(i));
  return out;
}
int Throws(int value) { throw std::logic_error("bad input " + std::to_string(value)); }
int Depth(int n) { return n == 0 ? 0 : 1 + *orrery::Get(orrery::Task(Depth).Remote(n - 1)); }
int Pid() { return getpid(); }
int CrashOnce(std::string marker) {
  if (!fs::exists(marker)) {
    std::ofstream(marker) << getpid();
    raise(SIGKILL);
  }
  return 42;
}
int AlwaysCrash() {
  raise(SIGKILL);
  return 0;
}
// True when the other task of the pair is running at the same time as this one.
bool Rendezvous(std::string dir, int me) {
  std::ofstream(dir + "/" + std::to_string(me)) << "here";
  std::string other = dir + "/" + std::to_string(1 - me);
  for (int i = 0; i < 2000 && !fs::exists(other); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return fs::exists(other);
}
int SumRefs(std::vector<orrery::ObjectRef<int>> refs) {
  int sum = 0;
  for (const auto& ref : refs) sum += *orrery::Get(ref);
  return sum;
}
std::pair<int, orrery::ObjectRef<int>> PutInWorker(int value) { return {getpid(), orrery::Put(value)}; }
size_t CountStrings(std::vector<std::string> words) { return words.size(); }
int Say(std::string line) {
  std::cout << line << std::endl;
  return 0;
}
void Nothing() {}

// What Flaky throws until the attempt that succeeds.
struct TransientError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Counts its attempts in the file `counter` (attempts may run in different workers) and throws
// TransientError until attempt `succeed_at`, which answers the count.
int Flaky(std::string counter, int succeed_at) {
  int count = 0;
  std::ifstream(counter) >> count;
  std::ofstream(counter, std::ios::trunc) << ++count;
  if (count < succeed_at) throw TransientError("attempt " + std::to_string(count) + " failed");
  return count;
}

ORRERY_REMOTE(Add, Echo, Scale, Move, Invert, Throws, Depth, Pid, CrashOnce, AlwaysCrash, Rendezvous, SumRefs,
              PutInWorker, CountStrings, Say, Nothing, Flaky);

// Registered in the driver only: its workers lack it.
int DriverOnly(int x) { return x; }
static const bool driver_only_registered [[maybe_unused]] =
    std::getenv("ORRERY_WORKER_MODE") == nullptr &&
    orrery::internal::RegisterRemoteFunctions("DriverOnly", &DriverOnly);

// Registered under one name with other types in the driver than in its workers.
int DifferInDriver(int x) { return x; }
int DifferInWorker(std::string x) { return static_cast<int>(x.size()); }
static const bool differ_registered [[maybe_unused]] =
    std::getenv("ORRERY_WORKER_MODE") == nullptr
        ? orrery::internal::RegisterRemoteFunctions("Differ", &DifferInDriver)
        : orrery::internal::RegisterRemoteFunctions("Differ", &DifferInWorker);

int NeverRegistered(int x) { return x; }

namespace {

using orrery::testing::LocalMode;
using orrery::testing::MakeTempRoot;

std::string g_root;

class RemoteFunctions : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_root = MakeTempRoot();
    orrery::Config config;
    config.temp_dir = g_root;
    config.head_args = {"--num-cpus", "2"};
    config.local_mode = LocalMode();
    orrery::Init(config);
  }
  static void TearDownTestSuite() {
    orrery::Shutdown();
    if (std::getenv("ORRERY_TEST_KEEP_DIR") == nullptr) fs::remove_all(g_root);
  }
};

// Two tasks that wait for each other run at once on the 2 CPUs. (Leases that other tests
// leave idle for reuse yield to the lease this needs: see parallel_tasks_test.cc.)
TEST_F(RemoteFunctions, TasksRunInParallelAcrossCpus) {
  std::string dir = g_root + "/rendezvous";
  fs::create_directories(dir);
  auto a = orrery::Task(Rendezvous).Remote(dir, 0);
  auto b = orrery::Task(Rendezvous).Remote(dir, 1);
  EXPECT_TRUE(*orrery::Get(a));
  EXPECT_TRUE(*orrery::Get(b));
}

TEST_F(RemoteFunctions, ReturnsTheResult) {
  EXPECT_EQ(*orrery::Get(orrery::Task(Add).Remote(1, 2)), 3);
  EXPECT_EQ(*orrery::Task(Echo).SetName("echo").Remote(std::string("hello")).Get(), "hello");
}

TEST_F(RemoteFunctions, CarriesRawAndMsgpackValues) {
  std::vector<double> values(100'000, 1.5);
  auto scaled = orrery::Get(orrery::Task(Scale).Remote(values, 2.0));
  ASSERT_EQ(scaled->size(), values.size());
  EXPECT_EQ((*scaled)[99'999], 3.0);

  Point moved = *orrery::Get(orrery::Task(Move).Remote(Point{1, 2.5, "p"}, 10));
  EXPECT_EQ(moved.x, 11);
  EXPECT_EQ(moved.y, 2.5);
  EXPECT_EQ(moved.name, "p");

  auto inverted = orrery::Get(orrery::Task(Invert).Remote(std::vector<std::string>{"a", "b", "a"}));
  EXPECT_THAT((*inverted)["a"], ::testing::ElementsAre(0, 2));

  orrery::ObjectRef<void> done = orrery::Task(Nothing).Remote();
  EXPECT_EQ(done.Get(), nullptr);
}

TEST_F(RemoteFunctions, PutGetAndRefArguments) {
  auto five = orrery::Put(5);
  EXPECT_EQ(*orrery::Get(five), 5);
  // An ObjectRef<int> passed for an int parameter is resolved to its value.
  EXPECT_EQ(*orrery::Get(orrery::Task(Add).Remote(five, 1)), 6);
  // A result passed on before it exists.
  auto chained = orrery::Task(Add).Remote(orrery::Task(Add).Remote(1, 1), five);
  EXPECT_EQ(*orrery::Get(chained), 7);

  std::vector<orrery::ObjectRef<int>> refs;
  for (int i = 0; i < 10; ++i) refs.push_back(orrery::Task(Add).Remote(i, 0));
  auto values = orrery::Get(refs);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(*values[i], i);
}

TEST_F(RemoteFunctions, ARefInsideAPutValueOutlivesItsHandle) {
  auto inner = std::make_unique<orrery::ObjectRef<int>>(orrery::Put(41));
  auto outer = orrery::Put(std::vector<orrery::ObjectRef<int>>{*inner});
  inner.reset();  // only the value of `outer` holds it now
  auto refs = orrery::Get(outer);
  ASSERT_EQ(refs->size(), 1u);
  EXPECT_EQ(*orrery::Get((*refs)[0]), 41);
  // And from another process: a worker borrows the refs inside the value it was given.
  EXPECT_EQ(*orrery::Get(orrery::Task(SumRefs).Remote(*refs)), 41);
}

TEST_F(RemoteFunctions, AnIdNoRefReachedFailsAtOnceAsLost) {
  orrery::ObjectRef<int> made_up(std::string(40, 'a'));
  EXPECT_THROW(orrery::Get(made_up, 5000), orrery::ObjectLostError);
  EXPECT_THROW(orrery::ObjectRef<int>("not hex"), orrery::OrreryException);
}

TEST_F(RemoteFunctions, AThrowingTaskRaisesTaskError) {
  auto ref = orrery::Task(Throws).Remote(7);
  try {
    orrery::Get(ref);
    FAIL() << "Get should throw";
  } catch (const orrery::TaskError& e) {
    EXPECT_EQ(e.exception_type(), "std::logic_error");
    EXPECT_EQ(e.function(), "Throws");
    EXPECT_THAT(e.what(), ::testing::HasSubstr("bad input 7"));
    EXPECT_GT(e.pid(), 0);
  }
  // The worker lives on.
  EXPECT_EQ(*orrery::Get(orrery::Task(Add).Remote(2, 2)), 4);
}

TEST_F(RemoteFunctions, UnknownFunctionsFailClearly) {
  EXPECT_THROW(orrery::Task(NeverRegistered), orrery::FunctionNotFoundError);
  ORRERY_SKIP_IN_LOCAL_MODE("a worker that lacks DriverOnly (here the driver runs it)");
  try {
    orrery::Get(orrery::Task(DriverOnly).Remote(1));
    FAIL() << "Get should throw";
  } catch (const orrery::FunctionNotFoundError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("DriverOnly"));
  }
}

TEST_F(RemoteFunctions, AFunctionRegisteredWithOtherTypesInTheWorkerFailsNamingIt) {
  ORRERY_SKIP_IN_LOCAL_MODE("a worker that registers Differ with other types");
  try {
    orrery::Get(orrery::Task(DifferInDriver).Remote(1));
    FAIL() << "Get should throw";
  } catch (const orrery::FunctionNotFoundError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("Differ"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("other parameter or return types"));
  }
}

TEST_F(RemoteFunctions, HostileMsgpackFailsTheTaskNotTheWorker) {
  // A msgpack array header claiming 4 billion elements, and nothing after it.
  orrery::internal::SerializedValue hostile;
  hostile.format = orrery::internal::Format::kMsgpack;
  hostile.payload = std::string("\xdd\xff\xff\xff\xff", 5);
  orrery::ObjectRef<std::vector<std::string>> ref(orrery::internal::AdoptTag{},
                                                 orrery::internal::RequireRuntime().Put(hostile));
  EXPECT_THROW(orrery::Get(ref), orrery::OrreryException);
  int pid = *orrery::Get(orrery::Task(Pid).Remote());
  try {
    orrery::Get(orrery::Task(CountStrings).Remote(ref));
    FAIL() << "Get should throw";
  } catch (const orrery::TaskError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("argument 1 of CountStrings cannot be read"));
  }
  EXPECT_EQ(*orrery::Get(orrery::Task(Pid).Remote()), pid);
}

TEST_F(RemoteFunctions, WaitReportsReadyAndUnreadyInOrder) {
  auto fast = orrery::Task(Add).Remote(1, 1);
  auto never = orrery::Task(Add).SetResource("unobtainium", 1).Remote(1, 1);
  orrery::Get(fast);
  auto result = orrery::Wait(std::vector<orrery::ObjectRef<int>>{never, fast}, 1, 200);
  ASSERT_EQ(result.ready.size(), 1u);
  EXPECT_EQ(result.ready.front(), fast);
  ASSERT_EQ(result.unready.size(), 1u);
  EXPECT_EQ(result.unready.front(), never);
  EXPECT_THROW(orrery::Get(never, 100), orrery::GetTimeoutError);

  using Refs = std::vector<orrery::ObjectRef<int>>;
  EXPECT_THROW(orrery::Wait(Refs{fast}, 0, 10), orrery::OrreryException);
  EXPECT_THROW(orrery::Wait(Refs{fast}, 2, 10), orrery::OrreryException);
  EXPECT_THROW(orrery::Wait(Refs{fast, fast}, 1, 10), orrery::OrreryException);
}

TEST_F(RemoteFunctions, AnInfeasibleDemandShowsInStatus) {
  ORRERY_SKIP_IN_LOCAL_MODE("`orrery status` asks the cluster's daemons");
  auto never = orrery::Task(Add).SetResource("unobtainium", 1).Remote(1, 1);
  std::string command = std::string(ORRERY_CLI_PATH) + " status --temp-dir " + g_root + " 2>&1";
  std::string output;
  for (int attempt = 0; attempt < 50 && output.find("unobtainium") == std::string::npos; ++attempt) {
    output.clear();
    FILE* pipe = popen(command.c_str(), "r");
    char buffer[4096];
    while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
    pclose(pipe);
    if (output.find("unobtainium") == std::string::npos) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_THAT(output, ::testing::HasSubstr("unobtainium"));
  EXPECT_THAT(output, ::testing::HasSubstr("infeasible"));
}

TEST_F(RemoteFunctions, ResourcesAreCheckedAtRemote) {
  EXPECT_THROW(orrery::Task(Add).SetResource("", 1).Remote(1, 1), orrery::OrreryException);
  EXPECT_THROW(orrery::Task(Add).SetResource("CPU", 0).Remote(1, 1), orrery::OrreryException);
  EXPECT_THROW(orrery::Task(Add).SetResource("CPU", 1.5).Remote(1, 1), orrery::OrreryException);
  EXPECT_EQ(*orrery::Get(orrery::Task(Add).SetResource("CPU", 0.5).Remote(1, 1)), 2);
}

TEST_F(RemoteFunctions, NestedTasksDeeperThanTheCpusFinish) {
  // Two CPUs, six levels: each blocked parent lends its CPU to its child.
  EXPECT_EQ(*orrery::Get(orrery::Task(Depth).Remote(6)), 6);
}

TEST_F(RemoteFunctions, AWorkerKilledMidTaskIsRetried) {
  ORRERY_SKIP_IN_LOCAL_MODE("a worker to SIGKILL (here it would be the driver)");
  std::string marker = g_root + "/crash-once";
  EXPECT_EQ(*orrery::Get(orrery::Task(CrashOnce).Remote(marker)), 42);
  EXPECT_TRUE(fs::exists(marker));
}

TEST_F(RemoteFunctions, ATaskThatAlwaysCrashesRaisesWorkerCrashedError) {
  ORRERY_SKIP_IN_LOCAL_MODE("a worker to SIGKILL (here it would be the driver)");
  try {
    orrery::Get(orrery::Task(AlwaysCrash).Remote());
    FAIL() << "Get should throw";
  } catch (const orrery::WorkerCrashedError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("AlwaysCrash"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("4 times"));
  }
}

TEST_F(RemoteFunctions, SetMaxRetriesBoundsTheRetriesOfATaskWhoseWorkerDies) {
  ORRERY_SKIP_IN_LOCAL_MODE("a worker to SIGKILL (here it would be the driver)");
  for (int retries : {0, 1}) {
    try {
      orrery::Get(orrery::Task(AlwaysCrash).SetMaxRetries(retries).Remote());
      ADD_FAILURE() << "Get should throw";
    } catch (const orrery::WorkerCrashedError& e) {
      EXPECT_THAT(e.what(), ::testing::HasSubstr("tried " + std::to_string(retries + 1) + " times"));
    }
  }
  EXPECT_THROW(orrery::Task(AlwaysCrash).SetMaxRetries(-2), orrery::OrreryException);
}

// How many attempts Flaky counted in `counter`.
int Attempts(const std::string& counter) {
  int count = 0;
  std::ifstream(counter) >> count;
  return count;
}

TEST_F(RemoteFunctions, SetRetryExceptionsRetriesTheNamedTypesWithinMaxRetries) {
  std::string dir = g_root + "/flaky";
  fs::create_directories(dir);
  // A named type is retried, here until the third attempt succeeds.
  EXPECT_EQ(*orrery::Get(orrery::Task(Flaky).SetName("flaky").SetRetryExceptions({"TransientError"}).Remote(
                dir + "/named", 3)),
            3);
  // Another type than those named is not retried, nor is any exception by default.
  EXPECT_THROW(orrery::Get(orrery::Task(Flaky).SetRetryExceptions({"std::logic_error"}).Remote(dir + "/other", 3)),
               orrery::TaskError);
  EXPECT_EQ(Attempts(dir + "/other"), 1);
  EXPECT_THROW(orrery::Get(orrery::Task(Flaky).Remote(dir + "/default", 3)), orrery::TaskError);
  EXPECT_EQ(Attempts(dir + "/default"), 1);
  // Any exception, within SetMaxRetries: the last attempt's is raised.
  try {
    orrery::Get(orrery::Task(Flaky).SetRetryExceptions(true).SetMaxRetries(1).Remote(dir + "/bounded", 5));
    ADD_FAILURE() << "Get should throw";
  } catch (const orrery::TaskError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("attempt 2 failed"));
  }
  EXPECT_EQ(Attempts(dir + "/bounded"), 2);
  if (LocalMode()) return;
  // Each attempt is a row of `orrery list tasks`, the failed ones with what ended them.
  nlohmann::json rows;
  EXPECT_TRUE(orrery::testing::Eventually([&] {
    std::string listed = orrery::testing::Cli("list tasks --filter name=flaky --format json --temp-dir " + g_root);
    rows = nlohmann::json::parse(listed, nullptr, /*allow_exceptions=*/false);
    if (!rows.is_array() || rows.size() != 3) return false;
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a["attempt"] < b["attempt"]; });
    return rows[2]["state"] == "FINISHED";
  })) << rows.dump(2);
  for (int attempt = 0; attempt < 2 && rows.size() == 3; ++attempt) {
    EXPECT_EQ(rows[attempt]["attempt"], attempt) << rows.dump(2);
    EXPECT_EQ(rows[attempt]["state"], "FAILED") << rows.dump(2);
    EXPECT_THAT(rows[attempt]["error_type"].dump(), ::testing::HasSubstr("TransientError")) << rows.dump(2);
  }
}

TEST_F(RemoteFunctions, GetOfAnObjectWhoseOwnerDiedRaisesOwnerDiedError) {
  ORRERY_SKIP_IN_LOCAL_MODE("an owner process to kill (here it would be the driver)");
  auto result = orrery::Get(orrery::Task(PutInWorker).Remote(5));
  int owner_pid = result->first;
  orrery::ObjectRef<int> borrowed = result->second;
  ASSERT_EQ(kill(owner_pid, SIGKILL), 0);
  try {
    orrery::Get(borrowed, 30'000);
    FAIL() << "Get should throw";
  } catch (const orrery::OwnerDiedError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("died"));
  }
}

TEST_F(RemoteFunctions, AThousandSyncTasksReuseAtMostTwoWorkers) {
  std::set<int> pids;
  for (int i = 0; i < 1000; ++i) pids.insert(*orrery::Get(orrery::Task(Pid).Remote()));
  EXPECT_LE(pids.size(), 2u);
}

TEST_F(RemoteFunctions, WorkerOutputReachesTheDriverPrefixed) {
  ORRERY_SKIP_IN_LOCAL_MODE("a worker whose output is forwarded (here tasks print to the driver's stdout)");
  ::testing::internal::CaptureStdout();
  orrery::Get(orrery::Task(Say).Remote(std::string("a line from a worker")));
  int pid = *orrery::Get(orrery::Task(Pid).Remote());
  std::string output;
  // The line travels on its own stream: wait until it has arrived (or give up after 10 s).
  for (int i = 0; i < 1000 && output.find("a line from a worker") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    output += ::testing::internal::GetCapturedStdout();
    ::testing::internal::CaptureStdout();
  }
  output += ::testing::internal::GetCapturedStdout();
  EXPECT_THAT(output, ::testing::ContainsRegex("\\(worker [0-9a-f]{8} pid=[0-9]+\\) a line from a worker"));
  (void)pid;
}

TEST(InitShutdown, CyclesRepeatAndGetAfterShutdownThrows) {
  std::string root = MakeTempRoot();
  orrery::ObjectRef<int> stale;
  for (int cycle = 0; cycle < 2; ++cycle) {
    orrery::Config config;
    config.temp_dir = root;
    config.head_args = {"--num-cpus=1"};
    config.local_mode = LocalMode();
    orrery::Init(config);
    EXPECT_TRUE(orrery::IsInitialized());
    stale = orrery::Task(Add).Remote(cycle, 1);
    EXPECT_EQ(*orrery::Get(stale), cycle + 1);
    // An infeasible task pending does not hold Shutdown up.
    auto pending = orrery::Task(Add).SetResource("unobtainium", 1).Remote(1, 1);
    auto start = std::chrono::steady_clock::now();
    orrery::Shutdown();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
    EXPECT_FALSE(orrery::IsInitialized());
  }
  EXPECT_THROW(orrery::Get(stale), orrery::OrreryException);
  fs::remove_all(root);
}

TEST(InitShutdown, ReadsOnlyItsOwnFlags) {
  std::string root = MakeTempRoot();
  std::string temp_flag = "--orrery_temp_dir=" + root;
  std::vector<std::string> args = {"program", "--my_own_flag=1", temp_flag, "-v", "--orrery_head_args=--num-cpus=1"};
  if (LocalMode()) args.push_back("--orrery_local_mode=true");
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  orrery::Config config;
  orrery::Init(config, static_cast<int>(argv.size()), argv.data());
  EXPECT_EQ(*orrery::Get(orrery::Task(Add).Remote(2, 3)), 5);
  orrery::Shutdown();
  // The local cluster's session went where the flag said (local mode starts no cluster).
  if (!LocalMode()) {
    EXPECT_TRUE(fs::exists(root + "/session_latest"));
  }
  fs::remove_all(root);

  std::vector<std::string> bad = {"program", "--orrery_no_such_setting=1"};
  std::vector<char*> bad_argv;
  for (auto& arg : bad) bad_argv.push_back(arg.data());
  try {
    orrery::Init(config, static_cast<int>(bad_argv.size()), bad_argv.data());
    FAIL() << "Init should throw";
  } catch (const orrery::OrreryException& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("--orrery_no_such_setting"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("--orrery_address"));
  }
  EXPECT_FALSE(orrery::IsInitialized());
}

TEST(InitShutdown, AnUnreachableClusterFailsNamingTheAddress) {
  ORRERY_SKIP_IN_LOCAL_MODE("a cluster to join (local mode joins none)");
  orrery::Config config;
  config.address = "127.0.0.1:1";
  config.token = "x";
  try {
    orrery::Init(config);
    FAIL() << "Init should throw";
  } catch (const orrery::OrreryException& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("127.0.0.1:1"));
  }
  EXPECT_FALSE(orrery::IsInitialized());
}

TEST(InitShutdown, LocalModeRunsTasksInThisProcess) {
  orrery::Config config;
  config.local_mode = true;
  config.job_namespace = "local-test";
  orrery::Init(config);
  EXPECT_EQ(*orrery::Get(orrery::Task(Pid).Remote()), getpid());
  EXPECT_EQ(orrery::GetNamespace(), "local-test");
  orrery::Shutdown();
  EXPECT_FALSE(orrery::IsInitialized());
}

}  // namespace

int main(int argc, char** argv) {
  // In a worker process this serves tasks and never returns.
  orrery::internal::ServeIfWorker();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
