// The raylet's memory monitor against real workers, with the host's memory use read from a
// file the test writes (ORRERY_TESTING_MEMORY_USAGE_FILE): over the threshold, the newest task
// is killed, not an actor while a task can be; the task is retried after a back-off and
// succeeds once the pressure drops; with its retries spent it fails with OutOfMemoryError.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "orrery/api.h"
#include "cli_cluster.h"
#include "local_cluster_suite.h"

namespace fs = std::filesystem;

// Wall-clock milliseconds: the same clock in the test and its workers.
int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Appends "PID MS" (its pid, the wall-clock ms it started) to `log`, then holds its worker
// until `release` exists; answers how many attempts the log has.
int HoldUntilReleased(std::string log, std::string release) {
  {
    std::ofstream out(log, std::ios::app);
    out << getpid() << " " << NowMs() << "\n";
  }
  for (int i = 0; i < 60'000 / 10 && !fs::exists(release); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the test's signal, polled
  }
  std::ifstream in(log);
  int attempts = 0;
  for (std::string line; std::getline(in, line);) ++attempts;
  return attempts;
}

class Idle {
 public:
  static Idle* Create() { return new Idle(); }
  int Pid() { return getpid(); }
};

ORRERY_REMOTE(HoldUntilReleased, Idle::Create, &Idle::Pid);

namespace {

using orrery::testing::Eventually;

std::string g_root;
std::string g_usage;  // the file the monitor reads the host's use from

// The host's memory use, as the monitor will read it.
void SetUsage(double fraction) {
  std::ofstream(g_usage + ".tmp", std::ios::trunc) << fraction;
  fs::rename(g_usage + ".tmp", g_usage);  // whole, never half written
}

bool Alive(int pid) { return kill(pid, 0) == 0; }

// The attempts HoldUntilReleased logged: (pid, start ms).
std::vector<std::pair<int, int64_t>> Attempts(const std::string& log) {
  std::vector<std::pair<int, int64_t>> out;
  std::ifstream in(log);
  int pid = 0;
  int64_t ms = 0;
  while (in >> pid >> ms) out.emplace_back(pid, ms);
  return out;
}

// The pids the raylet's log says the memory monitor killed, in order.
std::vector<int> KilledForMemory() {
  std::vector<int> pids;
  for (const auto& entry : fs::directory_iterator(g_root + "/session_latest/logs")) {
    std::string name = entry.path().filename().string();
    if (name.rfind("raylet-", 0) != 0 || entry.path().extension() != ".log") continue;
    std::ifstream log(entry.path());
    const std::string kill = "] worker process ";
    for (std::string line; std::getline(log, line);) {
      size_t at = line.find(kill);
      if (at != std::string::npos && line.find("was killed by the memory monitor") != std::string::npos) {
        pids.push_back(std::atoi(line.c_str() + at + kill.size()));
      }
    }
  }
  return pids;
}

class MemoryMonitor : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The local cluster's raylet inherits these.
    g_usage = (fs::temp_directory_path() / ("orrery-memory-usage-" + std::to_string(getpid()))).string();
    SetUsage(0.1);
    setenv("ORRERY_TESTING_MEMORY_USAGE_FILE", g_usage.c_str(), 1);
    setenv("ORRERY_MEMORY_MONITOR_REFRESH_MS", "20", 1);
    g_root = orrery::testing::InitLocalCluster();
  }
  static void TearDownTestSuite() {
    orrery::testing::ShutdownLocalCluster(g_root);
    fs::remove(g_usage);
  }
  void TearDown() override { SetUsage(0.1); }

  std::string Path(const std::string& name) { return g_root + "/" + name; }
};

TEST_F(MemoryMonitor, AKilledTaskIsRetriedAfterABackOffAndSucceedsOnceThePressureDrops) {
  std::string log = Path("retried.log"), release = Path("retried.release");
  auto result = orrery::Task(HoldUntilReleased).SetName("held").Remote(log, release);
  ASSERT_TRUE(Eventually([&] { return Attempts(log).size() == 1; }));
  int first = Attempts(log)[0].first;
  // Workers go first for the kernel's OOM killer too.
  int adj = 0;
  std::ifstream("/proc/" + std::to_string(first) + "/oom_score_adj") >> adj;
  EXPECT_EQ(adj, 1000);
  int64_t pressure_ms = NowMs();  // the kill comes after this
  SetUsage(0.99);
  ASSERT_TRUE(Eventually([&] { return !Alive(first); }));
  SetUsage(0.1);
  std::ofstream(release) << "go";
  EXPECT_EQ(*orrery::Get(result, 60'000), 2);
  std::vector<std::pair<int, int64_t>> attempts = Attempts(log);
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_NE(attempts[1].first, first);
  // The retry waited its back-off: 1 s from the kill, which came after the pressure did.
  EXPECT_GE(attempts[1].second - pressure_ms, 1000) << "the retry after an OOM kill did not back off";

  // The kill shows: the failed attempt in `orrery list tasks`, the count in `orrery status`.
  nlohmann::json rows;
  EXPECT_TRUE(Eventually([&] {
    rows = nlohmann::json::parse(orrery::testing::Cli("list tasks --filter name=held --filter state=FAILED "
                                                      "--format json --temp-dir " + g_root),
                                 nullptr, /*allow_exceptions=*/false);
    return rows.is_array() && rows.size() == 1;
  })) << rows.dump(2);
  if (rows.size() == 1) {
    EXPECT_THAT(rows[0]["error_type"].dump(), ::testing::HasSubstr("OUT_OF_MEMORY"));
  }
  std::string status;
  EXPECT_TRUE(Eventually([&] {
    status = orrery::testing::Cli("status --temp-dir " + g_root);
    return status.find("1 OOM kill") != std::string::npos;
  })) << status;
}

TEST_F(MemoryMonitor, WithItsRetriesSpentAKilledTaskFailsWithOutOfMemoryError) {
  std::string log = Path("spent.log"), release = Path("spent.release");
  auto result = orrery::Task(HoldUntilReleased).SetName("greedy").SetMaxRetries(0).Remote(log, release);
  ASSERT_TRUE(Eventually([&] { return Attempts(log).size() == 1; }));
  int pid = Attempts(log)[0].first;
  SetUsage(0.99);
  try {
    orrery::Get(result, 60'000);
    ADD_FAILURE() << "Get should raise OutOfMemoryError";
  } catch (const orrery::OutOfMemoryError& e) {
    std::string what = e.what();
    EXPECT_THAT(what, ::testing::HasSubstr("greedy")) << "the task";
    EXPECT_THAT(what, ::testing::HasSubstr("worker process " + std::to_string(pid))) << "the pid";
    EXPECT_THAT(what, ::testing::HasSubstr(orrery::GetNodeId())) << "the node";
    EXPECT_THAT(what, ::testing::HasSubstr("over the threshold 0.95")) << "the threshold";
    EXPECT_THAT(what, ::testing::HasSubstr("memory use 0.99")) << "the use";
  }
}

TEST_F(MemoryMonitor, AnActorIsNotKilledWhileATaskCanBe) {
  auto actor = orrery::Actor(Idle::Create).SetMaxRestarts(-1).Remote();
  int actor_pid = *orrery::Get(actor.Task(&Idle::Pid).Remote());
  std::string log = Path("beside-actor.log"), release = Path("beside-actor.release");
  auto result = orrery::Task(HoldUntilReleased).SetMaxRetries(0).Remote(log, release);
  ASSERT_TRUE(Eventually([&] { return Attempts(log).size() == 1; }));
  int task_pid = Attempts(log)[0].first;
  size_t earlier = KilledForMemory().size();  // by the tests before, in this cluster
  SetUsage(0.99);
  ASSERT_TRUE(Eventually([&] { return !Alive(task_pid); }));
  SetUsage(0.1);
  // Once the task is gone the actor is all that is left, and may go too: the first kill counts.
  std::vector<int> killed = KilledForMemory();
  ASSERT_GT(killed.size(), earlier);
  EXPECT_EQ(killed[earlier], task_pid) << "the actor (pid " << actor_pid << ") was killed while a task could be";
  EXPECT_THROW(orrery::Get(result, 60'000), orrery::OutOfMemoryError);
}

}  // namespace

int main(int argc, char** argv) {
  // In a worker process this serves tasks and never returns.
  orrery::internal::ServeIfWorker();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
