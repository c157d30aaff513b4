// The chaos suite (issue 22): the workload of chaos_workload.h runs for a fixed time on four
// raylets while a seeded killer SIGKILLs a worker every 2 s, a raylet that is not the head's
// every 30 s (starting a new one), and the GCS once, and every process of the cluster loses 1 %
// of its RPCs. Every result must be right, every sequence number must arrive, nothing may hang;
// afterwards every node's resources are free within 10 s, and once the cluster stops no process,
// shared-memory segment or sanitizer report is left. The same workload without faults first
// gives the floor its time is compared with. tests/chaos/README.md says how to run it.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "orrery/api.h"
#include "tests/chaos/chaos_cluster.h"
#include "tests/chaos/chaos_killer.h"
#include "tests/chaos/chaos_schedule.h"
#include "tests/chaos/chaos_settings.h"
#include "tests/chaos/chaos_workload.h"
#include "tests/chaos/driver_process.h"
#include "tests/chaos/leftovers.h"
#include "tests/integration/cli_cluster.h"

#include "src/common/process.h"

namespace orrery::chaos {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int kRaylets = 4;
constexpr int kFaultFreeRounds = 3;
// Once the workload's time is up, how long its last round, the job and their ends may take
// before the run counts as hung.
constexpr int kWindDownS = 240;
// 1 % of the calls of every method in every process fail: half lose their request, half their
// reply after the server applied the call (docs/design/fault-injection.md).
const std::map<std::string, std::string> kRpcFailures = {{"ORRERY_TESTING_RPC_FAILURE", "*=-1:0.5:0.5"}};
constexpr char kJob[] = "chaos-job";

std::string StateDir(const ChaosCluster& cluster) { return cluster.root() + "/chaos"; }

absl::StatusOr<DriverProcess> StartDriver(const ChaosCluster& cluster, int rounds, double seconds) {
  return DriverProcess::Start({SelfExePath(), "driver", std::to_string(rounds), std::to_string(seconds),
                               cluster.head_node(), StateDir(cluster)},
                              cluster.DriverEnv(), cluster.root() + "/driver.out");
}

// The JSON after `prefix` on a line of `output`; null when there is none.
nlohmann::json FiguresIn(const std::string& output, const std::string& prefix) {
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    size_t at = line.find(prefix);
    if (at != std::string::npos) return nlohmann::json::parse(line.substr(at + prefix.size()), nullptr, false);
  }
  return nullptr;
}

std::string Tail(const std::string& text, size_t bytes = 6000) {
  return text.size() <= bytes ? text : "...\n" + text.substr(text.size() - bytes);
}

// How many objects their owners made again (lineage reconstruction): the line each owner's log
// has for a re-run, in every log of the cluster's session (drivers and workers own objects).
int CountObjectsRebuilt(const std::string& root) {
  int rebuilt = 0;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(root + "/session_latest/logs", error)) {
    if (entry.path().extension() != ".log") continue;
    std::ifstream log(entry.path());
    for (std::string line; std::getline(log, line);) rebuilt += line.find(" again (attempt ") != std::string::npos;
  }
  return rebuilt;
}

// For a driver that failed on an object: every line of the cluster's logs (owners, borrowers,
// raylets) naming the first object its output names, so a red run says how that object's
// recovery went and not only that it failed.
std::string TraceOfFailedObject(const std::string& root, const std::string& driver_output) {
  std::string id = orrery::testing::Match(driver_output, "FAILED after [^:]*: object ([0-9a-f]{40})");
  if (id.empty()) return "";
  std::string trace;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(root + "/session_latest/logs", error)) {
    if (entry.path().extension() != ".log") continue;
    std::ifstream log(entry.path());
    for (std::string line; std::getline(log, line);) {
      if (line.find(id) != std::string::npos) trace += entry.path().filename().string() + ": " + line + "\n";
    }
  }
  return "the cluster's log lines naming object " + id + ":\n" + Tail(trace, 12000);
}

std::set<pid_t> ReadPids(const std::string& path) {
  std::set<pid_t> pids;
  std::ifstream in(path);
  for (pid_t pid; in >> pid;) pids.insert(pid);
  return pids;
}

// The submitted job's state once it has ended (SUCCEEDED, FAILED or STOPPED), or its last state
// when `deadline` passes first. Asked once a second: the job ends about when the driver does.
std::string WaitForJobEnd(const ChaosCluster& cluster, Clock::time_point deadline) {
  std::string state;
  while (true) {
    state = orrery::testing::Match(cluster.Cli(std::string("job status ") + kJob), "State:\\s*(\\S+)");
    if (state == "SUCCEEDED" || state == "FAILED" || state == "STOPPED" || Clock::now() >= deadline) return state;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

// `orrery stop`, then: no process naming the cluster's root (daemons, zygotes, workers) and no
// new name in /dev/shm.
void StopAndExpectNothingLeft(ChaosCluster& cluster, const std::set<std::string>& shm_before) {
  std::string stopped = cluster.Stop();
  EXPECT_THAT(stopped, HasSubstr("Stopped")) << stopped;
  std::set<pid_t> left;
  if (!orrery::testing::Eventually([&] { return (left = ProcessesNaming(cluster.root())).empty(); }, 10)) {
    std::string described;
    for (pid_t pid : left) described += "\n  " + DescribeProcess(pid);
    ADD_FAILURE() << "processes of the cluster left after `orrery stop`:" << described;
  }
  EXPECT_THAT(Added(shm_before, SharedMemoryNames()), IsEmpty()) << "shared-memory segments left in /dev/shm";
}

// The floor: a few rounds of the same workload on the same shape of cluster, with no fault at
// all; its driver's seconds per round.
void MeasureFaultFreeRound(const std::set<std::string>& shm_before, double* seconds_per_round) {
  ChaosCluster cluster({});
  ASSERT_TRUE(cluster.Start(kRaylets));
  absl::StatusOr<DriverProcess> driver = StartDriver(cluster, kFaultFreeRounds, 0);
  ASSERT_TRUE(driver.ok()) << driver.status();
  ASSERT_TRUE(driver->ExitedBy(Clock::now() + std::chrono::seconds(kWindDownS))) << "the fault-free pass hung:\n"
                                                                                 << Tail(driver->Output());
  ASSERT_TRUE(driver->Succeeded()) << driver->HowItEnded() << "\n" << Tail(driver->Output());
  nlohmann::json figures = FiguresIn(driver->Output(), "chaos driver figures: ");
  ASSERT_TRUE(figures.is_object()) << driver->Output();
  *seconds_per_round = figures["seconds"].get<double>() / kFaultFreeRounds;
  StopAndExpectNothingLeft(cluster, shm_before);
}

// The driver's figures into `figures`, with its seconds per round beside the fault-free pass's
// and their ratio.
void AddDriverFigures(const nlohmann::json& driver, double fault_free_seconds_per_round, nlohmann::json* figures) {
  (*figures)["driver"] = driver;
  (*figures)["fault_free_seconds_per_round"] = fault_free_seconds_per_round;
  if (!driver.is_object() || driver.value("rounds", 0) == 0) return;
  double seconds_per_round = driver["seconds"].get<double>() / driver["rounds"].get<int>();
  (*figures)["seconds_per_round"] = seconds_per_round;
  (*figures)["slowdown"] = seconds_per_round / fault_free_seconds_per_round;
}

TEST(Chaos, EveryResultArrivesRightAndNothingIsLeftWhileWorkersRayletsAndTheGcsAreKilled) {
  ChaosSettings settings = ChaosSettings::FromEnvironment();
  ASSERT_GT(settings.seconds(), 0) << "ORRERY_CHAOS_MINUTES must be a positive number of minutes";
  std::printf("chaos: seed %llu (ORRERY_CHAOS_SEED=%llu replays its schedule), %.2f minutes on %d raylets%s\n",
              static_cast<unsigned long long>(settings.seed), static_cast<unsigned long long>(settings.seed),
              settings.minutes, kRaylets,
              settings.kill_raylets ? "" : ", no raylet kills (ORRERY_CHAOS_KILL_RAYLETS=0)");
  std::fflush(stdout);
  const std::set<std::string> shm_before = SharedMemoryNames();
  const std::set<std::string> reports_before = SanitizerReports();

  double fault_free_seconds_per_round = 0;
  ASSERT_NO_FATAL_FAILURE(MeasureFaultFreeRound(shm_before, &fault_free_seconds_per_round));

  ChaosCluster cluster(kRpcFailures);
  ASSERT_TRUE(cluster.Start(kRaylets));
  absl::StatusOr<DriverProcess> driver = StartDriver(cluster, 0, settings.seconds());
  ASSERT_TRUE(driver.ok()) << driver.status();
  // The killer starts once the driver has its actors, and knows which processes to spare.
  std::string spared_file = SparedPidsFile(StateDir(cluster));
  ASSERT_TRUE(
      orrery::testing::Eventually([&] { return fs::exists(spared_file) || driver->ExitedBy(Clock::now()); }, 120))
      << "the driver never got its actors up:\n"
      << Tail(driver->Output());
  ASSERT_TRUE(fs::exists(spared_file)) << "the driver ended: " << driver->HowItEnded() << "\n"
                                       << Tail(driver->Output());
  std::set<pid_t> spared = ReadPids(spared_file);
  // (c): a job submitted from the CLI, for as long as the driver's workload.
  std::string submitted = cluster.Cli(std::string("job submit --no-wait --submission-id ") + kJob + " -- " +
                                      SelfExePath() + " job " + std::to_string(settings.seconds()) + " " +
                                      StateDir(cluster));
  ASSERT_THAT(submitted, HasSubstr(kJob)) << submitted;

  auto start = Clock::now();
  ChaosKiller killer(cluster, std::move(spared), StateDir(cluster), start);
  for (const KillEvent& event : MakeSchedule(settings.seed, settings.seconds(), settings.kill_raylets)) {
    // A driver that ends before its time has failed: the kills stop with it.
    if (driver->ExitedBy(start + std::chrono::milliseconds(static_cast<int64_t>(event.at_s * 1000)))) break;
    killer.Execute(event);
  }

  // No hang: the driver and the job end within the wind-down, with every result right.
  auto deadline = start + std::chrono::seconds(static_cast<int64_t>(settings.seconds()) + kWindDownS);
  bool driver_ended = driver->ExitedBy(deadline);
  std::string job_state = WaitForJobEnd(cluster, deadline);
  EXPECT_TRUE(driver_ended) << "the driver hangs " << kWindDownS << " s after its time was up:\n"
                            << Tail(driver->Output()) << cluster.Cli("status");
  EXPECT_TRUE(driver->Succeeded()) << "the driver: " << driver->HowItEnded() << "\n"
                                   << Tail(driver->Output()) << TraceOfFailedObject(cluster.root(), driver->Output());
  std::string job_log = cluster.Cli(std::string("job logs ") + kJob);
  EXPECT_EQ(job_state, "SUCCEEDED") << Tail(job_log);

  // Afterwards: every node's resources free, and once the cluster stops, nothing left.
  EXPECT_TRUE(cluster.EveryNodeIdleWithin(10));
  int objects_rebuilt = CountObjectsRebuilt(cluster.root());
  StopAndExpectNothingLeft(cluster, shm_before);
  EXPECT_THAT(Added(reports_before, SanitizerReports()), IsEmpty()) << "sanitizer reports (ASan, UBSan, LSan)";

  nlohmann::json figures = {
      {"seed", settings.seed},
      {"minutes", settings.minutes},
      {"raylets", kRaylets},
      {"kills_survived", killer.counts()},
      {"job", FiguresIn(job_log, "chaos job figures: ")},
      {"objects_reconstructed", objects_rebuilt},
  };
  AddDriverFigures(FiguresIn(driver->Output(), "chaos driver figures: "), fault_free_seconds_per_round, &figures);
  std::printf("chaos figures: %s\n", figures.dump().c_str());
}

}  // namespace
}  // namespace orrery::chaos

// This binary is also the workload's driver ("driver ROUNDS SECONDS HEAD_NODE STATE_DIR"), the
// submitted job's driver ("job SECONDS STATE_DIR"), and their workers.
int main(int argc, char** argv) {
  // In a worker process this serves tasks and never returns.
  orrery::internal::ServeIfWorker();
  std::string mode = argc >= 2 ? argv[1] : "";
  if (mode == "driver" || mode == "job") {
    if (mode == "driver" && argc == 6) {
      const char* root = std::getenv("ORRERY_TEMP_DIR");  // ChaosCluster::DriverEnv sets it
      return orrery::chaos::RunChaosDriver(
          {std::atoi(argv[2]), std::atof(argv[3]), argv[4], argv[5], root != nullptr ? root : ""});
    }
    if (mode == "job" && argc == 4) return orrery::chaos::RunChaosJob(std::atof(argv[2]), argv[3]);
    // Never the test itself: a driver started with missing arguments must not start clusters.
    std::fprintf(stderr, "chaos %s: bad arguments (%d)\n", mode.c_str(), argc);
    return 2;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
