// The state commands as a user runs them: a head started with `orrery start --head`, a job
// submitted with `orrery job submit` (this binary as its driver, "driver hold"), which runs
// tasks of two functions (one fails for one input), a named actor and a placement group and
// then holds them; then `orrery list`, `get`, `summary` and `timeline` show what it made.
// Task events reach the GCS within a second or two (workers flush each second), so what
// depends on them is polled until a deadline.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cli_cluster.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "orrery/api.h"
#include "temp_root.h"

namespace fs = std::filesystem;

// ---- the driver's remote code ----

int Square(int x) { return x * x; }

int Divide(int a, int b) {
  if (b == 0) throw std::invalid_argument("division by zero");
  return a / b;
}

using Bytes = std::vector<uint8_t>;

class Greeter {
 public:
  static Greeter* Create() { return new Greeter(); }
  std::string Hello(std::string name) { return "hello " + name; }
  // Borrows the objects (it holds refs owned by the caller) until the actor ends.
  int Keep(std::vector<orrery::ObjectRef<Bytes>> refs) {
    kept_ = std::move(refs);
    return static_cast<int>(kept_.size());
  }

 private:
  std::vector<orrery::ObjectRef<Bytes>> kept_;
};

ORRERY_REMOTE(Square, Divide, Greeter::Create, &Greeter::Hello, &Greeter::Keep);

// ---- the driver: `state_cli_test driver hold` ----

constexpr char kActorName[] = "state-cli-greeter";
constexpr char kGroupName[] = "state-cli-group";
constexpr char kSubmissionId[] = "state-cli";
// Above the inline limit (100 KiB): it lies in the node's shared-memory store.
constexpr size_t kBigObjectBytes = 4 << 20;

// `driver quiet`: a job with task events off runs three tasks and ends.
int RunQuietDriver() {
  orrery::Config config;
  config.task_events = false;
  orrery::Init(config);
  std::vector<orrery::ObjectRef<int>> squares;
  for (int i = 0; i < 3; ++i) squares.push_back(orrery::Task(Square).Remote(i));
  orrery::Get(squares);
  orrery::Shutdown();
  return 0;
}

int RunDriver(const std::string& mode) {
  if (mode == "quiet") return RunQuietDriver();
  if (mode != "hold") return 2;
  orrery::Init();
  std::vector<orrery::ObjectRef<int>> squares;
  for (int i = 0; i < 4; ++i) squares.push_back(orrery::Task(Square).Remote(i));
  orrery::Get(squares);
  for (int divisor : {1, 2, 0}) {
    try {
      orrery::Get(orrery::Task(Divide).Remote(12, divisor));
    } catch (const std::exception& e) {
      std::printf("Divide failed: %s\n", e.what());
    }
  }
  auto greeter = orrery::Actor(Greeter::Create).SetName(kActorName).Remote();
  std::printf("%s\n", orrery::Get(greeter.Task(&Greeter::Hello).Remote(std::string("cli")))->c_str());
  // For `orrery memory`: an object in shared memory, lent to the actor, and a small one.
  auto big = orrery::Put(Bytes(kBigObjectBytes, 7));
  auto small = orrery::Put(Bytes(16, 1));
  if (*orrery::Get(greeter.Task(&Greeter::Keep).Remote(std::vector<orrery::ObjectRef<Bytes>>{big})) != 1) return 4;
  std::printf("objects %s %s\n", big.ID().c_str(), small.ID().c_str());
  orrery::PlacementGroupCreationOptions options;
  options.name = kGroupName;
  options.bundles = {{{"CPU", 1}}};
  orrery::PlacementGroup group = orrery::CreatePlacementGroup(options);
  if (!group.Wait(30)) return 3;
  std::printf("ready\n");
  std::fflush(stdout);
  while (true) pause();  // until the test stops the job
}

namespace {

using orrery::testing::Cli;
using orrery::testing::Eventually;
using orrery::testing::CliRun;
using orrery::testing::RunCli;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string g_root;

std::string Self() { return fs::read_symlink("/proc/self/exe").string(); }

std::string WithCluster(const std::string& args) { return orrery::testing::WithTempDir(args, g_root); }

// `orrery ARGS` against the test's cluster.
CliRun Orrery(const std::string& args) { return RunCli(WithCluster(args)); }

// The stdout of a command whose stderr is dropped: JSON to parse.
std::string Stdout(const std::string& args) { return Cli(WithCluster(args) + " 2>/dev/null; true"); }


// The JSON a command printed, or null when it printed none.
nlohmann::json Json(const std::string& args) {
  return nlohmann::json::parse(Stdout(args + " --format json"), nullptr, /*allow_exceptions=*/false);
}

// The elements of a JSON array whose `key` is `value`.
std::vector<nlohmann::json> Where(const nlohmann::json& rows, const std::string& key, const std::string& value) {
  std::vector<nlohmann::json> matching;
  if (!rows.is_array()) return matching;
  for (const nlohmann::json& row : rows) {
    if (row.contains(key) && row[key].is_string() && row[key] == value) matching.push_back(row);
  }
  return matching;
}

// The ids of the big and the small object the held driver put ("objects BIG SMALL" in its log).
std::pair<std::string, std::string> HeldObjects() {
  std::string logs = Orrery(std::string("job logs ") + kSubmissionId).output;
  std::istringstream lines(logs);
  std::string word, big, small;
  while (lines >> word) {
    if (word == "objects" && lines >> big >> small) break;
  }
  return {big, small};
}

// The rows of `rows` (a JSON array) about processes that own the object (`owned`) or not.
std::vector<nlohmann::json> Holders(const nlohmann::json& rows, bool owned) {
  std::vector<nlohmann::json> matching;
  if (!rows.is_array()) return matching;
  for (const nlohmann::json& row : rows) {
    if (row.value("owned", !owned) == owned) matching.push_back(row);
  }
  return matching;
}

// The hex id of the held job.
std::string JobId() {
  auto jobs = Where(Json("list jobs"), "submission_id", kSubmissionId);
  return jobs.empty() ? "" : jobs[0]["job_id"].get<std::string>();
}

class StateCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_root = orrery::testing::MakeTempRoot();
    auto cluster = orrery::testing::StartHead(g_root, "--num-cpus 2 --node-ip-address 127.0.0.1");
    ASSERT_FALSE(cluster.token.empty());
    CliRun submit =
        Orrery(std::string("job submit --no-wait --submission-id ") + kSubmissionId + " -- " + Self() + " driver hold");
    ASSERT_EQ(submit.exit_code, 0) << submit.output;
    std::string logs;
    ASSERT_TRUE(Eventually([&] {
      logs = Orrery(std::string("job logs ") + kSubmissionId).output;
      return logs.find("ready") != std::string::npos;
    })) << logs;
  }
  static void TearDownTestSuite() {
    Orrery(std::string("job stop ") + kSubmissionId);
    orrery::testing::StopClusterAndRemoveRoot(g_root);
  }
};

TEST_F(StateCli, ListNodesShowsTheOneAliveNode) {
  CliRun nodes = Orrery("list nodes");
  EXPECT_EQ(nodes.exit_code, 0) << nodes.output;
  EXPECT_THAT(nodes.output, StartsWith("NODE_ID"));
  EXPECT_THAT(nodes.output, HasSubstr("127.0.0.1:"));
  EXPECT_THAT(nodes.output, HasSubstr("CPU "));
  nlohmann::json json = Json("list nodes");
  ASSERT_TRUE(json.is_array()) << Stdout("list nodes --format json");
  ASSERT_EQ(Where(json, "state", "ALIVE").size(), 1u) << json.dump(2);
  // Numbers as numbers, for scripts: the CPUs in use and in all, the store's bytes.
  const nlohmann::json node = Where(json, "state", "ALIVE")[0];
  EXPECT_TRUE(node["resources"]["CPU"]["used"].is_number()) << node.dump(2);
  EXPECT_GT(node["resources"]["CPU"]["total"].get<double>(), 0) << node.dump(2);
  EXPECT_GT(node["object_store"]["capacity_bytes"].get<double>(), 0) << node.dump(2);
}

TEST_F(StateCli, ListJobsShowsTheJobWithItsSubmissionId) {
  CliRun jobs = Orrery(std::string("list jobs --filter submission_id=") + kSubmissionId);
  EXPECT_EQ(jobs.exit_code, 0) << jobs.output;
  EXPECT_THAT(jobs.output, HasSubstr(kSubmissionId));
  EXPECT_THAT(jobs.output, HasSubstr("RUNNING"));
  EXPECT_THAT(jobs.output, HasSubstr("driver hold"));
  EXPECT_EQ(JobId().size(), 8u);
  // `get job` takes the submission id too.
  CliRun job = Orrery(std::string("get job ") + kSubmissionId);
  EXPECT_EQ(job.exit_code, 0) << job.output;
  EXPECT_THAT(job.output, HasSubstr("job_id: " + JobId() + "\n"));
  EXPECT_THAT(job.output, HasSubstr("state: RUNNING\n"));
}

TEST_F(StateCli, ListAndGetActorsShowTheNamedActor) {
  CliRun alive = Orrery("list actors --filter state=alive");
  EXPECT_EQ(alive.exit_code, 0) << alive.output;
  EXPECT_THAT(alive.output, HasSubstr(kActorName));
  EXPECT_THAT(alive.output, HasSubstr("Greeter::Create"));

  nlohmann::json actors = Json("list actors");
  ASSERT_TRUE(actors.is_array()) << Stdout("list actors --format json");
  auto named = Where(actors, "name", kActorName);
  ASSERT_EQ(named.size(), 1u) << actors.dump(2);
  EXPECT_EQ(named[0]["state"], "ALIVE");
  EXPECT_EQ(named[0]["class"], "Greeter::Create");
  EXPECT_EQ(named[0]["job_id"], JobId());
  EXPECT_TRUE(named[0]["pid"].is_number());

  // By a prefix of its id.
  std::string id = named[0]["actor_id"];
  CliRun get = Orrery("get actor " + id.substr(0, 12));
  EXPECT_EQ(get.exit_code, 0) << get.output;
  EXPECT_THAT(get.output, HasSubstr("actor_id: " + id + "\n"));
  EXPECT_THAT(get.output, HasSubstr(std::string("name: ") + kActorName + "\n"));
  EXPECT_THAT(get.output, HasSubstr("state: ALIVE\n"));
  nlohmann::json get_json = Json("get actor " + id);
  EXPECT_EQ(get_json["name"], kActorName) << get_json.dump(2);
}

TEST_F(StateCli, ListTasksShowsEachFunctionsTasksAndTheFailedOneWithItsError) {
  nlohmann::json squares;
  EXPECT_TRUE(Eventually([&] {
    squares = Json("list tasks --filter function=Square --filter state=FINISHED");
    return squares.is_array() && squares.size() == 4;
  })) << squares.dump(2)
      << Orrery("list tasks").output;
  for (const nlohmann::json& task : squares) {
    EXPECT_EQ(task["job_id"], JobId());
    EXPECT_EQ(task["kind"], "NORMAL_TASK");
    EXPECT_TRUE(task["worker_id"].is_string()) << task.dump();
  }
  nlohmann::json failed;
  EXPECT_TRUE(Eventually([&] {
    failed = Json("list tasks --filter function=Divide --filter state=failed");
    return failed.is_array() && failed.size() == 1;
  })) << failed.dump(2);
  if (failed.size() == 1) {
    ASSERT_TRUE(failed[0]["error_type"].is_string()) << failed.dump(2);
    EXPECT_THAT(failed[0]["error_type"].get<std::string>(), HasSubstr("TASK_ERROR"));
    // `get task` shows it, with the error's message.
    CliRun get = Orrery("get task " + failed[0]["task_id"].get<std::string>());
    EXPECT_EQ(get.exit_code, 0) << get.output;
    EXPECT_THAT(get.output, HasSubstr("state: FAILED\n"));
    EXPECT_THAT(get.output, HasSubstr("division by zero"));
  }
  CliRun table = Orrery("list tasks --filter function=Divide");
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_THAT(table.output, StartsWith("TASK_ID"));
}

TEST_F(StateCli, BadKindsColumnsAndIdsAreNamedInOneLineErrors) {
  CliRun column = Orrery("list tasks --filter foo=1");
  EXPECT_EQ(column.exit_code, 1);
  EXPECT_EQ(column.output,
            "orrery list: no column 'foo' for tasks; valid: task_id, attempt, name, function, kind, "
            "state, job_id, node_id, worker_id, error_type, duration, submitted, actor_id, error_message\n");
  CliRun malformed = Orrery("list actors --filter state");
  EXPECT_EQ(malformed.exit_code, 1);
  EXPECT_THAT(malformed.output, HasSubstr("'state'"));
  CliRun kind = Orrery("list things");
  EXPECT_EQ(kind.exit_code, 1);
  EXPECT_EQ(kind.output,
            "orrery list: no kind 'things'; valid: nodes, jobs, actors, tasks, placement-groups, workers, objects\n");

  CliRun task = Orrery("get task 0123456789abcdef0123456789abcdef");
  EXPECT_EQ(task.exit_code, 1);
  EXPECT_EQ(task.output, "orrery get: no task '0123456789abcdef0123456789abcdef'\n");
  CliRun actor = Orrery("get actor ffffffffffff");
  EXPECT_EQ(actor.exit_code, 1);
  EXPECT_EQ(actor.output, "orrery get: no actor 'ffffffffffff'\n");
}

TEST_F(StateCli, SummaryCountsTasksPerFunctionAndState) {
  nlohmann::json summary;
  auto counts_of = [&](const std::string& function) {
    auto rows = Where(summary, "function", function);
    return rows.empty() ? nlohmann::json::object() : rows[0];
  };
  // The owner and the workers send their events each on its own second: the counts are right
  // once both have.
  EXPECT_TRUE(Eventually([&] {
    summary = Json("summary tasks");
    return counts_of("Square").value("total", 0) == 4 && counts_of("Divide").value("total", 0) == 3 &&
           counts_of("Square").value("finished", -1) == 4 && counts_of("Divide").value("finished", -1) == 2 &&
           counts_of("Divide").value("failed", -1) == 1;
  })) << summary.dump(2);

  CliRun table = Orrery("summary tasks");
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_THAT(table.output, HasSubstr("FUNCTION"));
  EXPECT_THAT(table.output, HasSubstr("FINISHED"));
  EXPECT_THAT(table.output, HasSubstr("Square"));

  CliRun actors = Orrery("summary actors");
  EXPECT_EQ(actors.exit_code, 0) << actors.output;
  EXPECT_THAT(actors.output, HasSubstr("Greeter::Create"));
}

TEST_F(StateCli, ListPlacementGroupsShowsTheCreatedGroup) {
  CliRun groups = Orrery("list placement-groups");
  EXPECT_EQ(groups.exit_code, 0) << groups.output;
  auto named = Where(Json("list placement-groups"), "name", kGroupName);
  ASSERT_EQ(named.size(), 1u) << groups.output;
  EXPECT_EQ(named[0]["state"], "CREATED");
  EXPECT_EQ(named[0]["strategy"], "PACK");
  EXPECT_EQ(named[0]["bundles"], 1);
  EXPECT_EQ(named[0]["job_id"], JobId());
}

TEST_F(StateCli, ListWorkersShowsTheJobsWorkers) {
  std::string job = JobId();
  ASSERT_FALSE(job.empty());
  nlohmann::json workers = Json("list workers --filter job_id=" + job);
  ASSERT_TRUE(workers.is_array()) << Orrery("list workers").output;
  EXPECT_GE(workers.size(), 1u) << Orrery("list workers").output;
  // The actor's worker is one of them.
  bool has_actor_worker = false;
  for (const nlohmann::json& worker : workers) has_actor_worker |= worker.value("is_actor_worker", false);
  EXPECT_TRUE(has_actor_worker) << workers.dump(2);
  CliRun table = Orrery("list workers");
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_THAT(table.output, StartsWith("WORKER_ID"));
}

TEST_F(StateCli, ListObjectsShowsWhoHoldsEachObjectWhereAndHowBig) {
  auto [big, small] = HeldObjects();
  ASSERT_EQ(big.size(), small.size()) << Orrery(std::string("job logs ") + kSubmissionId).output;
  ASSERT_FALSE(big.empty());
  // The driver owns the big object and the actor borrows it. The actor's borrowing reaches the
  // owner asynchronously, hence the wait.
  nlohmann::json rows;
  EXPECT_TRUE(Eventually([&] {
    rows = Json("list objects --filter object_id=" + big);
    auto owners = Holders(rows, true);
    return owners.size() == 1 && owners[0].value("borrowers", 0) >= 1 && Holders(rows, false).size() == 1;
  })) << rows.dump(2);
  auto owners = Holders(rows, true);
  auto borrowers = Holders(rows, false);
  ASSERT_EQ(owners.size(), 1u) << rows.dump(2);
  ASSERT_EQ(borrowers.size(), 1u) << rows.dump(2);
  const nlohmann::json& owner = owners[0];
  EXPECT_EQ(owner["process"], "driver");
  EXPECT_EQ(owner["job_id"], JobId());
  EXPECT_EQ(owner["reference_kind"], "LOCAL_REFERENCE");
  EXPECT_EQ(owner["location"], "SHARED_MEMORY");
  EXPECT_EQ(owner["spilled"], false);
  ASSERT_TRUE(owner["size"].is_number()) << owner.dump();
  EXPECT_GE(owner["size"].get<int64_t>(), static_cast<int64_t>(kBigObjectBytes));
  EXPECT_EQ(owner["owner_worker_id"], owner["worker_id"]);
  const nlohmann::json& borrower = borrowers[0];
  EXPECT_EQ(borrower["process"], "worker");
  EXPECT_EQ(borrower["owner_worker_id"], owner["worker_id"]);
  EXPECT_EQ(borrower["reference_kind"], "LOCAL_REFERENCE");
  EXPECT_NE(borrower["pid"], owner["pid"]);

  // The small one lives in the driver's own memory.
  nlohmann::json inline_rows = Json("list objects --filter object_id=" + small);
  auto small_owner = Holders(inline_rows, true);
  ASSERT_EQ(small_owner.size(), 1u) << inline_rows.dump(2);
  EXPECT_EQ(small_owner[0]["location"], "IN_PROCESS");
  ASSERT_TRUE(small_owner[0]["size"].is_number()) << small_owner[0].dump();
  EXPECT_GE(small_owner[0]["size"].get<int64_t>(), 16);
  EXPECT_LT(small_owner[0]["size"].get<int64_t>(), 1024);

  CliRun table = Orrery("list objects");
  EXPECT_EQ(table.exit_code, 0) << table.output;
  EXPECT_THAT(table.output, StartsWith("OBJECT_ID"));
  EXPECT_THAT(table.output, HasSubstr(big));
}

TEST_F(StateCli, MemoryShowsEachStoreAndTheObjectsByNodeAndProcess) {
  auto [big, small] = HeldObjects();
  ASSERT_FALSE(big.empty());
  CliRun memory = Orrery("memory");
  EXPECT_EQ(memory.exit_code, 0) << memory.output;
  EXPECT_THAT(memory.output, HasSubstr("object store: "));
  EXPECT_THAT(memory.output, HasSubstr("127.0.0.1"));
  EXPECT_THAT(memory.output, HasSubstr("driver "));
  EXPECT_THAT(memory.output, HasSubstr(big));
  EXPECT_THAT(memory.output, HasSubstr(small));
  EXPECT_THAT(memory.output, HasSubstr("LOCAL_REFERENCE"));
  EXPECT_THAT(memory.output, HasSubstr("SHARED_MEMORY"));
  // The driver owns both objects.
  EXPECT_THAT(memory.output, HasSubstr("objects by owner:\n"));
  nlohmann::json json = nlohmann::json::parse(Stdout("memory --format json"), nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(json.is_discarded());
  EXPECT_THAT(json.dump(), HasSubstr(big));

  CliRun unknown = Orrery("memory --node ffffffffffff");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.output, HasSubstr("ffffffffffff"));
}

TEST_F(StateCli, AJobWithTaskEventsOffLeavesNoTaskHistory) {
  // A driver sends its last events as it shuts down, before it exits, so with events on its
  // three submissions would be listed once `job submit` returns.
  CliRun run = Orrery("job submit --submission-id quiet -- " + Self() + " driver quiet");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto jobs = Where(Json("list jobs"), "submission_id", "quiet");
  ASSERT_EQ(jobs.size(), 1u) << Orrery("list jobs").output;
  nlohmann::json tasks = Json("list tasks --filter job_id=" + jobs[0]["job_id"].get<std::string>());
  ASSERT_TRUE(tasks.is_array()) << Orrery("list tasks").output;
  EXPECT_TRUE(tasks.empty()) << tasks.dump(2);
}

TEST_F(StateCli, TimelineWritesAChromeTraceOfTheTaskRuns) {
  std::string file = g_root + "/trace.json";
  nlohmann::json trace;
  std::vector<std::string> names;
  EXPECT_TRUE(Eventually([&] {
    CliRun run = Orrery(std::string("timeline -o ") + file + " --job " + kSubmissionId);
    bool wrote = run.output.find("Wrote ") != std::string::npos && run.output.find(file) != std::string::npos;
    if (run.exit_code != 0 || !wrote) return false;
    std::ifstream in(file);
    trace = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    names.clear();
    if (!trace.is_object() || !trace["traceEvents"].is_array()) return false;
    for (const nlohmann::json& event : trace["traceEvents"]) {
      if (event.value("ph", "") == "X") names.push_back(event.value("name", ""));
    }
    // Each worker sends its events on its own, within about a second: wait for all of them.
    return std::count(names.begin(), names.end(), "Square") == 4 &&
           std::count(names.begin(), names.end(), "Divide") == 3 &&
           std::count(names.begin(), names.end(), "Greeter::Hello") >= 1;
  })) << trace.dump(2);
  EXPECT_EQ(trace["displayTimeUnit"], "ms");
}

}  // namespace

int main(int argc, char** argv) {
  // In a worker process this serves tasks and never returns.
  orrery::internal::ServeIfWorker();
  if (argc >= 3 && std::string(argv[1]) == "driver") return RunDriver(argv[2]);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
