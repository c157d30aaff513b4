// Jobs submitted from the CLI, as a user submits them: a head started with `orrery start
// --head`, then `orrery job submit` of this same binary as the driver (with "driver MODE" as its
// arguments), which runs tasks and an actor on the cluster; following its output, its status,
// stopping it (its driver, workers and actors end and its resources return), listing and
// deleting it, and the errors of bad input.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_cluster.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orrery/api.h"
#include "temp_root.h"

namespace fs = std::filesystem;

// ---- the driver's remote code ----

int Square(int x) { return x * x; }
int Nap(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}

std::string EnvVar(std::string name) {
  const char* value = std::getenv(name.c_str());
  return value == nullptr ? "<unset>" : value;
}

std::string ReadText(std::string path) {
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  return in || in.eof() ? text : "<missing>";
}

std::string Program() { return fs::read_symlink("/proc/self/exe").string(); }

// Writes a line to its worker's stdout (the worker's .out file).
int Say(std::string line) {
  std::printf("%s\n", line.c_str());
  return std::fflush(stdout);
}

class Counter {
 public:
  static Counter* Create() { return new Counter(); }
  int Add(int x) { return total_ += x; }
  int Pid() { return getpid(); }
  int Say(std::string line) { return ::Say(std::move(line)); }

 private:
  int total_ = 0;
};

ORRERY_REMOTE(Square, Nap, EnvVar, ReadText, Program, Say, Counter::Create, &Counter::Add, &Counter::Pid, &Counter::Say);

// ---- the driver: `jobs_test driver work|fail|hold|talk|last-words|steady` ----

int RunDriver(const std::string& mode) {
  if (mode == "fail") {
    std::printf("about to fail\n");
    return 3;
  }
  orrery::Init();
  if (mode == "hold") {
    // An actor holds one CPU for as long as the job lives.
    auto counter = orrery::Actor(Counter::Create).SetResource("CPU", 1).Remote();
    std::printf("actor pid: %d\n", *orrery::Get(counter.Task(&Counter::Pid).Remote()));
    std::printf("holding\n");
    std::fflush(stdout);
    while (true) pause();  // until `orrery job stop`
  }
  if (mode == "steady") {
    // Tasks one after another for about three seconds: long enough to be watched.
    std::printf("working\n");
    std::fflush(stdout);
    for (int i = 0; i < 10; ++i) orrery::Get(orrery::Task(Nap).Remote(300));
    std::printf("done\n");
    orrery::Shutdown();
    return 0;
  }
  if (mode == "last-words") {
    // The job ends at once: its workers are ended while their output is on its way to their files.
    orrery::Get(orrery::Task(Say).Remote(std::string("last words")));
    orrery::Shutdown();
    return 0;
  }
  if (mode == "talk") {
    // Lines in a task's and an actor's worker output, for `orrery logs`.
    orrery::Get(orrery::Task(Say).Remote(std::string("hello from a task")));
    auto counter = orrery::Actor(Counter::Create).Remote();
    orrery::Get(counter.Task(&Counter::Say).Remote(std::string("hello from an actor")));
    std::printf("actor id: %s\n", counter.ID().c_str());
    std::printf("line one\nline two\nline three\n");
    std::fflush(stdout);
    // The job lives on until `orrery job stop`: its workers copy their output to their files
    // in their own time, and a worker ended with its job may not have copied its last lines.
    while (true) pause();
  }
  std::vector<orrery::ObjectRef<int>> squares;
  for (int i = 0; i < 10; ++i) squares.push_back(orrery::Task(Square).Remote(i));
  int sum = 0;
  for (const auto& square : orrery::Get(squares)) sum += *square;
  std::printf("tasks: %d\n", sum);
  auto counter = orrery::Actor(Counter::Create).Remote();
  counter.Task(&Counter::Add).Remote(1);
  counter.Task(&Counter::Add).Remote(2);
  std::printf("actor: %d\n", *orrery::Get(counter.Task(&Counter::Add).Remote(3)));
  std::printf("driver env: %s\n", EnvVar("JOB_GREETING").c_str());
  std::printf("worker env: %s\n", orrery::Get(orrery::Task(EnvVar).Remote("JOB_GREETING"))->c_str());
  std::printf("driver data: %s\n", ReadText("data.txt").c_str());
  std::printf("worker data: %s\n", orrery::Get(orrery::Task(ReadText).Remote("data.txt"))->c_str());
  std::printf("driver program: %s\n", Program().c_str());
  std::printf("worker program: %s\n", orrery::Get(orrery::Task(Program).Remote())->c_str());
  orrery::Shutdown();
  return 0;
}

namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using orrery::testing::Cli;
using orrery::testing::Eventually;
using orrery::testing::CliRun;
using orrery::testing::Match;
using orrery::testing::RunCli;

std::string g_root;
orrery::testing::CliCluster g_cluster;

std::string Self() { return fs::read_symlink("/proc/self/exe").string(); }

// `orrery job VERB ARGS` against the test's cluster (found through its temp-dir root).
CliRun Job(const std::string& verb_and_args) {
  return RunCli(orrery::testing::WithTempDir("job " + verb_and_args, g_root));
}


// Gone, or a zombie its parent has yet to reap.
bool ProcessGone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

// Whether the GCS logged `line` (its log: <session>/logs/gcs-*.log).
bool GcsLogHas(const std::string& line) {
  for (const auto& entry : fs::directory_iterator(fs::canonical(g_root + "/session_latest") / "logs")) {
    if (entry.path().filename().string().rfind("gcs", 0) != 0) continue;
    std::ifstream log(entry.path());
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    if (text.find(line) != std::string::npos) return true;
  }
  return false;
}

class Jobs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_root = orrery::testing::MakeTempRoot();
    // A short hold on uploaded working_dir packages, so that the GCS deletes one no job uses
    // within the test (a submission names its package a moment after the upload).
    g_cluster = orrery::testing::StartHead(g_root, "--num-cpus 2 --node-ip-address 127.0.0.1",
                                           "ORRERY_WORKING_DIR_HOLD_MS=3000");
    ASSERT_FALSE(g_cluster.token.empty());
  }
  static void TearDownTestSuite() {
    orrery::testing::StopClusterAndRemoveRoot(g_root);
  }
};

TEST_F(Jobs, ASubmittedJobRunsTasksAndActorsInItsWorkingDirAndIsFollowedToItsEnd) {
  // The driver program travels in the working_dir, named relative to it.
  fs::path folder = fs::path(g_root) / "project";
  fs::create_directories(folder / "bin");
  std::ofstream(folder / "data.txt") << "weights v1\n";
  fs::copy_file(Self(), folder / "bin" / "driver");
  CliRun run = Job("submit --submission-id first --working-dir " + folder.string() +
                   " --env JOB_GREETING=hello -- ./bin/driver driver work");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("Job 'first' submitted."));
  EXPECT_THAT(run.output, HasSubstr("tasks: 285\n"));
  EXPECT_THAT(run.output, HasSubstr("actor: 6\n"));
  // The job's variables reach its driver and its workers.
  EXPECT_THAT(run.output, HasSubstr("driver env: hello\n"));
  EXPECT_THAT(run.output, HasSubstr("worker env: hello\n"));
  // The driver and its workers run in copies of the working_dir.
  EXPECT_THAT(run.output, HasSubstr("driver data: weights v1\n"));
  EXPECT_THAT(run.output, HasSubstr("worker data: weights v1\n"));
  // Each runs the copy of the program in its own unpacked working_dir.
  std::string session = fs::canonical(g_root + "/session_latest").string();
  EXPECT_THAT(run.output, HasSubstr("driver program: " + session + "/job_working_dirs/"));
  EXPECT_THAT(Match(run.output, "worker program: (\\S+)"), HasSubstr("/runtime_resources/working_dir/"));
  EXPECT_THAT(Match(run.output, "worker program: (\\S+)"), EndsWith("/bin/driver"));
  EXPECT_THAT(run.output, HasSubstr("Job 'first' SUCCEEDED (exit code 0)"));
  // Not a terminal: the log alone, no live line.
  EXPECT_THAT(run.output, Not(HasSubstr("\033[K")));
  // Once the job has ended nothing uses its working_dir: the head's copy (the driver's) and the
  // node's (the workers') are deleted, and past the upload's hold the GCS deletes the package.
  std::string driver_copy = Match(run.output, "driver program: (\\S+)/bin/driver");
  std::string worker_copy = Match(run.output, "worker program: (\\S+)/bin/driver");
  ASSERT_FALSE(driver_copy.empty() || worker_copy.empty()) << run.output;
  EXPECT_TRUE(Eventually([&] { return !fs::exists(driver_copy) && !fs::exists(worker_copy); }))
      << driver_copy << " or " << worker_copy << " is still there";
  std::string package = fs::path(worker_copy).filename().string();
  EXPECT_TRUE(Eventually([&] { return GcsLogHas("working_dir package " + package + " deleted from the GCS"); }));

  CliRun status = Job("status first");
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_THAT(status.output, HasSubstr("SUCCEEDED"));
  EXPECT_THAT(status.output, HasSubstr(" driver work"));
  // The record names the job its driver registered.
  EXPECT_FALSE(Match(status.output, "([0-9a-f]{8})").empty()) << status.output;

  CliRun logs = Job("logs first");
  EXPECT_EQ(logs.exit_code, 0);
  EXPECT_THAT(logs.output, HasSubstr("tasks: 285\n"));
  EXPECT_TRUE(fs::exists(session + "/logs/job-first.log"));

  CliRun list = Job("list");
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_THAT(list.output, HasSubstr("first"));
}

// `orrery job submit` at a terminal: under the followed log, a line of the job's tasks by state,
// kept current and erased when the job ends. `script` gives it a pseudo-terminal, as a person's.
TEST_F(Jobs, AtATerminalTheJobsTasksByStateAreShownUnderItsLogUntilItEnds) {
  std::string submit = std::string(ORRERY_CLI_PATH) + " job submit --submission-id watched --temp-dir " + g_root +
                       " -- " + Self() + " driver steady";
  std::string output;
  FILE* pipe = popen(("script -qfec '" + submit + "' /dev/null 2>&1").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  int status = pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  EXPECT_THAT(output, HasSubstr("working"));
  EXPECT_THAT(output, HasSubstr("done"));
  // The line showed the job's tasks while it ran (a Nap running or some finished)...
  EXPECT_THAT(output, ::testing::ContainsRegex("tasks: [0-9a-z ,]*[0-9]+ (running|finished)"));
  // ... was erased before the log went on and at the end, so the last word is the outcome.
  ASSERT_THAT(output, HasSubstr("\r\033[K"));
  const std::string after_last_erase = output.substr(output.rfind("\r\033[K"));
  EXPECT_THAT(after_last_erase, HasSubstr("Job 'watched' SUCCEEDED"));
  EXPECT_THAT(after_last_erase, Not(::testing::ContainsRegex("tasks: [0-9]+ [a-z]"))) << after_last_erase;
}

TEST_F(Jobs, ADriverThatExitsNonZeroFailsTheJobWithItsExitCode) {
  CliRun run = Job("submit --submission-id failing -- " + Self() + " driver fail");
  EXPECT_EQ(run.exit_code, 3) << run.output;
  EXPECT_THAT(run.output, HasSubstr("about to fail\n"));
  EXPECT_THAT(run.output, HasSubstr("Job 'failing' FAILED (exit code 3)"));
  EXPECT_THAT(Job("status failing").output, HasSubstr("FAILED"));
}

TEST_F(Jobs, WithoutWaitingTheIdIsTheLastWordAndItsLogsCanBeFollowedToTheEnd) {
  CliRun run = Job("submit --no-wait -- " + Self() + " driver work");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::string id = Match(run.output, "(\\S+)\\s*$");
  ASSERT_FALSE(id.empty()) << run.output;
  CliRun follow = Job("logs " + id + " -f");
  EXPECT_EQ(follow.exit_code, 0) << follow.output;
  EXPECT_THAT(follow.output, HasSubstr("tasks: 285\n"));
  EXPECT_THAT(follow.output, HasSubstr("actor: 6\n"));
  // Followed to its end: the job has ended by the time the follower returns.
  EXPECT_THAT(Job("status " + id).output, HasSubstr("SUCCEEDED"));
}

TEST_F(Jobs, StoppingAJobEndsItsDriverWorkersAndActorsAndReturnsItsResources) {
  CliRun run = Job("submit --submission-id held --no-wait -- " + Self() + " driver hold");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::string logs;
  ASSERT_TRUE(Eventually([&] {
    logs = Job("logs held").output;
    return logs.find("holding") != std::string::npos;
  })) << logs;
  pid_t actor = std::stoi(Match(logs, "actor pid: (\\d+)"));
  std::string status = Job("status held").output;
  EXPECT_THAT(status, HasSubstr("RUNNING"));
  pid_t driver = std::stoi(Match(status, "[Dd]river pid:\\s*(\\d+)"));
  EXPECT_TRUE(Eventually([&] { return Cli("status --temp-dir " + g_root).find("CPU 1/2") != std::string::npos; }))
      << "the actor's CPU is not in use: " << Cli("status --temp-dir " + g_root);
  // One of two CPUs in use, as a bar under the node.
  EXPECT_THAT(Cli("status --temp-dir " + g_root), HasSubstr("CPU          [##########..........]  50%"));
  // A running job cannot be deleted.
  CliRun refused = Job("delete held");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.output, HasSubstr("held"));

  CliRun stop = Job("stop held");
  EXPECT_EQ(stop.exit_code, 0) << stop.output;
  EXPECT_TRUE(ProcessGone(driver)) << "the driver outlived `orrery job stop`";
  EXPECT_TRUE(Eventually([&] { return ProcessGone(actor); })) << "the job's actor outlived its job";
  EXPECT_TRUE(Eventually([&] { return Cli("status --temp-dir " + g_root).find("CPU 0/2") != std::string::npos; }))
      << Cli("status --temp-dir " + g_root);
  EXPECT_THAT(Job("status held").output, HasSubstr("STOPPED"));

  CliRun deleted = Job("delete held");
  EXPECT_EQ(deleted.exit_code, 0) << deleted.output;
  EXPECT_THAT(Job("list").output, Not(HasSubstr("held")));
}

TEST_F(Jobs, TheLogsOfAJobItsActorAndAnyFileAreReadThroughTheRaylets) {
  ASSERT_EQ(Job("submit --submission-id talk --no-wait -- " + Self() + " driver talk").exit_code, 0);
  std::string output;
  ASSERT_TRUE(Eventually([&] {
    output = Job("logs talk").output;
    return output.find("line three") != std::string::npos;
  })) << output;
  std::string actor = Match(output, "actor id: ([0-9a-f]+)");
  std::string job = Match(Job("status talk").output, "Job id:\\s+([0-9a-f]+)");
  ASSERT_FALSE(actor.empty());
  ASSERT_FALSE(job.empty());
  auto logs = [](const std::string& args) { return RunCli("logs --temp-dir " + g_root + " " + args); };

  // Every node's files, listed.
  CliRun listing = logs("");
  EXPECT_EQ(listing.exit_code, 0) << listing.output;
  EXPECT_THAT(listing.output, HasSubstr("job-talk.log"));
  EXPECT_THAT(listing.output, HasSubstr("raylet-"));
  EXPECT_THAT(listing.output, HasSubstr("driver-" + job));
  // A job's files (its driver's log and its workers' output), and an actor's worker's.
  EXPECT_TRUE(Eventually([&] { return logs("--job " + job).output.find("hello from a task") != std::string::npos; }))
      << logs("--job " + job).output;
  // (The actor may live in the worker that ran the task before, so that line may be there too.)
  EXPECT_TRUE(Eventually([&] { return logs("--actor " + actor).output.find("hello from an actor") != std::string::npos; }))
      << logs("--actor " + actor).output;
  EXPECT_EQ(logs("--actor " + actor).exit_code, 0);

  // A file by name, and its last lines, once it is complete.
  ASSERT_EQ(Job("stop talk").exit_code, 0);
  std::string whole = logs("job-talk.log").output;
  EXPECT_THAT(whole, HasSubstr("line one\nline two\nline three\n"));
  size_t last = whole.rfind('\n', whole.size() - 2);
  size_t before = whole.rfind('\n', last - 1);
  CliRun tail = logs("job-talk.log --tail 2");
  EXPECT_EQ(tail.exit_code, 0);
  EXPECT_EQ(tail.output, whole.substr(before + 1)) << whole;

  // What does not exist is named.
  CliRun no_file = logs("no-such.log");
  EXPECT_NE(no_file.exit_code, 0);
  EXPECT_THAT(no_file.output, HasSubstr("no-such.log"));
  CliRun no_actor = logs("--actor " + std::string(32, 'f'));
  EXPECT_NE(no_actor.exit_code, 0);
  EXPECT_THAT(no_actor.output, HasSubstr(std::string(32, 'f')));
  EXPECT_NE(logs("../token").exit_code, 0);
}

TEST_F(Jobs, WhatAWorkerWroteReachesItsFilesWhenItIsEndedWithItsJob) {
  ASSERT_EQ(Job("submit --submission-id brief -- " + Self() + " driver last-words").exit_code, 0);
  std::string job = Match(Job("status brief").output, "Job id:\\s+([0-9a-f]+)");
  ASSERT_FALSE(job.empty());
  std::string logs;
  EXPECT_TRUE(Eventually([&] {
    logs = RunCli("logs --temp-dir " + g_root + " --job " + job).output;
    return logs.find("last words") != std::string::npos;
  })) << logs;
}

TEST_F(Jobs, AnUnknownJobIsNamedInAOneLineErrorByEveryVerb) {
  for (const std::string verb : {"status", "logs", "stop", "delete"}) {
    CliRun run = Job(verb + " no-such-job");
    EXPECT_NE(run.exit_code, 0) << verb;
    EXPECT_THAT(run.output, HasSubstr("no-such-job")) << verb;
    EXPECT_EQ(std::count(run.output.begin(), run.output.end(), '\n'), 1) << run.output;
  }
}

TEST_F(Jobs, BadSubmissionsAreRefusedNamingWhatIsWrong) {
  // A submission id in use.
  ASSERT_EQ(Job("submit --submission-id taken -- /bin/true").exit_code, 0);
  CliRun again = Job("submit --submission-id taken -- /bin/true");
  EXPECT_NE(again.exit_code, 0);
  EXPECT_THAT(again.output, HasSubstr("'taken' exists already"));
  // A program that does not exist fails the job, saying why.
  CliRun missing = Job("submit -- /no/such/program");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.output, HasSubstr("/no/such/program"));
  EXPECT_THAT(missing.output, HasSubstr("FAILED"));
  // A variable the runtime owns.
  CliRun owned = Job("submit --env ORRERY_ADDRESS=elsewhere -- /bin/true");
  EXPECT_NE(owned.exit_code, 0);
  EXPECT_THAT(owned.output, HasSubstr("ORRERY_ADDRESS"));
  // The wrong token (on the head's host: with its TLS identity), and an address where no head answers.
  CliRun token =
      RunCli("job submit --address " + g_cluster.address + " --token wrong --temp-dir " + g_root + " -- /bin/true");
  EXPECT_NE(token.exit_code, 0);
  EXPECT_THAT(token.output, HasSubstr("token"));
  CliRun nobody = RunCli("job submit --address 127.0.0.1:1 --token " + g_cluster.token + " -- /bin/true");
  EXPECT_NE(nobody.exit_code, 0);
  EXPECT_THAT(nobody.output, HasSubstr("127.0.0.1:1"));
}

}  // namespace

int main(int argc, char** argv) {
  // In a worker process this serves tasks and never returns.
  orrery::internal::ServeIfWorker();
  if (argc >= 3 && std::string(argv[1]) == "driver") return RunDriver(argv[2]);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
