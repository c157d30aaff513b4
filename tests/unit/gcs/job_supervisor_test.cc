// The job supervisor with real driver processes (/bin/sh) under real orrery-job-runners, driven
// on an io_context in the test thread: output into the log and to waiting readers, exit codes
// and states, stopping a driver with what it started, the job its driver reported ended with
// it, refused submissions, and a second supervisor on the same storage adopting a driver.
#include "src/gcs/job_supervisor.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "boost/asio/post.hpp"
#include "src/common/process.h"
#include "src/gcs/storage/in_memory_store_client.h"

namespace orrery::gcs {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using State = rpc::JobSubmission;

class JobSupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("job_supervisor_test_" + std::to_string(getpid()));
    fs::create_directories(root_ / "session" / "logs");
    fs::create_directories(root_ / "session" / "pids");
    MakeSupervisor();
  }
  // A supervisor on the test's storage, loaded from it.
  void MakeSupervisor() {
    JobSupervisor::Options options{(root_ / "session").string(), [] { return std::string("127.0.0.1:1"); }, "token",
                                   root_.string()};
    supervisor_ = std::make_unique<JobSupervisor>(
        io_, store_, options,
        [](const std::string& package, std::function<void(absl::StatusOr<std::string>)> done) {
          done(absl::NotFoundError("no package " + package));
        },
        [this](const JobId& job, const std::string&) { finished_.push_back(job); });
    std::optional<absl::Status> loaded;
    supervisor_->Load([&loaded](absl::Status status) { loaded = status; });
    RunUntil([&] { return loaded.has_value(); });
    ASSERT_TRUE(loaded.has_value() && loaded->ok());
  }
  void TearDown() override {
    supervisor_->Stop();
    supervisor_.reset();
    fs::remove_all(root_);
  }

  // Calls a handler and runs the loop until it answers (or 30 s pass).
  template <typename Request, typename Reply, typename Handler>
  absl::Status Call(Handler handler, const Request& request, Reply* reply) {
    std::optional<absl::Status> answer;
    (supervisor_.get()->*handler)(request, reply, [&answer](absl::Status status) { answer = status; });
    RunUntil([&] { return answer.has_value(); });
    return answer.value_or(absl::DeadlineExceededError("no answer within 30 s"));
  }

  template <typename Condition>
  void RunUntil(Condition condition) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!condition() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_one_for(std::chrono::milliseconds(100));
    }
  }

  rpc::JobSubmission Submit(const std::string& id, std::vector<std::string> argv,
                            std::map<std::string, std::string> env = {}) {
    rpc::SubmitJobRequest request;
    request.set_submission_id(id);
    for (auto& arg : argv) request.add_entrypoint(arg);
    for (auto& [name, value] : env) (*request.mutable_env())[name] = value;
    rpc::SubmitJobReply reply;
    EXPECT_TRUE(Call(&JobSupervisor::HandleSubmitJob, request, &reply).ok());
    return reply.job();
  }

  rpc::JobSubmission Status(const std::string& id) {
    rpc::GetJobSubmissionRequest request;
    request.set_submission_id(id);
    rpc::GetJobSubmissionReply reply;
    EXPECT_TRUE(Call(&JobSupervisor::HandleGetJobSubmission, request, &reply).ok());
    return reply.job();
  }

  // The driver's first output (waited for).
  rpc::ReadJobLogsReply FirstOutput(const std::string& id) {
    rpc::ReadJobLogsRequest read;
    read.set_submission_id(id);
    read.set_wait_ms(10'000);
    rpc::ReadJobLogsReply first;
    EXPECT_TRUE(Call(&JobSupervisor::HandleReadJobLogs, read, &first).ok());
    return first;
  }

  // A process that is not our child: nothing tells us when it ends, so this polls (10 s at most).
  static bool GoneWithin10s(pid_t pid) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (ProcessAlive(pid) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return !ProcessAlive(pid);
  }

  // Reads the whole log, following it to the job's end.
  rpc::ReadJobLogsReply Follow(const std::string& id) {
    rpc::ReadJobLogsReply all;
    int64_t offset = 0;
    for (int i = 0; i < 1000; ++i) {
      rpc::ReadJobLogsRequest request;
      request.set_submission_id(id);
      request.set_offset(offset);
      request.set_wait_ms(10'000);
      rpc::ReadJobLogsReply reply;
      EXPECT_TRUE(Call(&JobSupervisor::HandleReadJobLogs, request, &reply).ok());
      all.mutable_data()->append(reply.data());
      offset = reply.next_offset();
      *all.mutable_job() = reply.job();
      if (reply.end()) {
        all.set_end(true);
        break;
      }
    }
    return all;
  }

  boost::asio::io_context io_;
  InMemoryStoreClient store_{[this](std::function<void()> callback) { boost::asio::post(io_, std::move(callback)); }};
  fs::path root_;
  std::vector<JobId> finished_;
  std::unique_ptr<JobSupervisor> supervisor_;
};

TEST_F(JobSupervisorTest, ADriversOutputAndExitCodeAreKept) {
  rpc::JobSubmission job = Submit("exit3", {"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(job.state(), State::RUNNING);
  EXPECT_GT(job.driver_pid(), 0);
  rpc::ReadJobLogsReply logs = Follow("exit3");
  EXPECT_TRUE(logs.end());
  EXPECT_EQ(logs.data(), "out\nerr\n");
  EXPECT_EQ(logs.job().state(), State::FAILED);
  EXPECT_TRUE(logs.job().has_exit_code());
  EXPECT_EQ(logs.job().exit_code(), 3);
  EXPECT_THAT(logs.job().message(), HasSubstr("exit code 3"));
  EXPECT_TRUE(fs::exists(root_ / "session" / "logs" / "job-exit3.log"));

  Submit("fine", {"/bin/true"});
  EXPECT_EQ(Follow("fine").job().state(), State::SUCCEEDED);
}

TEST_F(JobSupervisorTest, AWaitingReaderGetsOutputAsItComes) {
  // The driver writes its second line only once the first was read and a file appears.
  fs::path go = root_ / "go";
  std::string script = "echo first; while [ ! -e " + go.string() + " ]; do sleep 0.01; done; echo second";
  Submit("two", {"/bin/sh", "-c", script});
  rpc::ReadJobLogsRequest request;
  request.set_submission_id("two");
  request.set_wait_ms(10'000);
  rpc::ReadJobLogsReply first;
  ASSERT_TRUE(Call(&JobSupervisor::HandleReadJobLogs, request, &first).ok());
  EXPECT_EQ(first.data(), "first\n");
  EXPECT_FALSE(first.end());
  // Nothing new yet: the reader waits, and is answered when the line arrives.
  request.set_offset(first.next_offset());
  std::optional<absl::Status> answer;
  rpc::ReadJobLogsReply second;
  supervisor_->HandleReadJobLogs(request, &second, [&](absl::Status status) { answer = status; });
  for (int i = 0; i < 5; ++i) io_.poll();
  EXPECT_FALSE(answer.has_value()) << "answered with nothing to read";
  std::ofstream(go.string()) << "";
  RunUntil([&] { return answer.has_value(); });
  ASSERT_TRUE(answer.has_value() && answer->ok());
  EXPECT_EQ(second.data(), "second\n");
  EXPECT_EQ(Follow("two").job().state(), State::SUCCEEDED);
}

TEST_F(JobSupervisorTest, StoppingEndsTheDriverAndWhatItStartedAndItsJob) {
  Submit("held", {"/bin/sh", "-c", "sleep 1000 & echo $!; wait"});
  rpc::ReadJobLogsReply logs = FirstOutput("held");
  pid_t sleeper = std::stoi(logs.data());
  JobId job_id = JobId::FromRandom();
  rpc::ReportJobDriverRequest report;
  report.set_submission_id("held");
  report.set_job_id(job_id.Binary());
  rpc::ReportJobDriverReply reported;
  ASSERT_TRUE(Call(&JobSupervisor::HandleReportJobDriver, report, &reported).ok());

  rpc::StopJobRequest stop;
  stop.set_submission_id("held");
  stop.set_grace_ms(5000);
  rpc::StopJobReply stopped;
  ASSERT_TRUE(Call(&JobSupervisor::HandleStopJob, stop, &stopped).ok());
  EXPECT_EQ(stopped.job().state(), State::STOPPED);
  EXPECT_FALSE(stopped.job().has_exit_code()) << "killed by a signal, not exited";
  EXPECT_FALSE(ProcessAlive(stopped.job().driver_pid())) << "the driver outlived its stop";
  // The sleeper got the same SIGTERM (its process group); it is not our child: poll for it.
  EXPECT_TRUE(GoneWithin10s(sleeper)) << "a process the driver started outlived the stop";
  ASSERT_EQ(finished_.size(), 1u);
  EXPECT_EQ(finished_[0], job_id);
  EXPECT_EQ(Status("held").job_id(), job_id.Binary());
}

TEST_F(JobSupervisorTest, TheDriverIsToldTheClusterAndTheJobsVariables) {
  Submit("env", {"/bin/sh", "-c", "echo $ORRERY_ADDRESS $ORRERY_TOKEN $ORRERY_SUBMISSION_ID $ORRERY_JOB_ENV_VARS $A"},
         {{"A", "1"}, {"B", "2"}});
  EXPECT_EQ(Follow("env").data(), "127.0.0.1:1 token env A,B 1\n");
}

TEST_F(JobSupervisorTest, BadRequestsAreRefusedNamingWhatIsWrong) {
  rpc::SubmitJobReply reply;
  rpc::SubmitJobRequest request;
  request.add_entrypoint("/bin/true");
  request.set_submission_id("../escape");
  EXPECT_THAT(Call(&JobSupervisor::HandleSubmitJob, request, &reply).message(), HasSubstr("'../escape' is not valid"));
  request.set_submission_id("ok");
  (*request.mutable_env())["ORRERY_TOKEN"] = "x";
  EXPECT_THAT(Call(&JobSupervisor::HandleSubmitJob, request, &reply).message(), HasSubstr("ORRERY_TOKEN"));
  request.clear_env();
  request.clear_entrypoint();
  EXPECT_TRUE(absl::IsInvalidArgument(Call(&JobSupervisor::HandleSubmitJob, request, &reply)));

  Submit("slow", {"/bin/sh", "-c", "sleep 1000"});
  EXPECT_TRUE(absl::IsAlreadyExists(Call(&JobSupervisor::HandleSubmitJob, [] {
    rpc::SubmitJobRequest again;
    again.set_submission_id("slow");
    again.add_entrypoint("/bin/true");
    return again;
  }(), &reply)));
  rpc::DeleteJobRequest remove;
  remove.set_submission_id("slow");
  rpc::DeleteJobReply removed;
  EXPECT_THAT(Call(&JobSupervisor::HandleDeleteJob, remove, &removed).message(), HasSubstr("stop it first"));
  remove.set_submission_id("nobody");
  absl::Status unknown = Call(&JobSupervisor::HandleDeleteJob, remove, &removed);
  EXPECT_TRUE(absl::IsNotFound(unknown));
  EXPECT_THAT(unknown.message(), HasSubstr("'nobody'"));

  // A program that cannot run fails its job, and the log says why.
  Submit("missing", {"/no/such/program"});
  rpc::ReadJobLogsReply logs = Follow("missing");
  EXPECT_EQ(logs.job().state(), State::FAILED);
  EXPECT_THAT(logs.data(), HasSubstr("/no/such/program"));
  // A working_dir that cannot be fetched fails its job too.
  rpc::SubmitJobRequest with_dir;
  with_dir.set_submission_id("dir");
  with_dir.add_entrypoint("/bin/true");
  with_dir.set_working_dir_package("abc");
  ASSERT_TRUE(Call(&JobSupervisor::HandleSubmitJob, with_dir, &reply).ok());
  EXPECT_THAT(Follow("dir").job().message(), HasSubstr("no package abc"));
}

// A GCS that dies does not stop its jobs: a supervisor on the same storage finds the driver
// still running, follows its log, and reports how it ended, exit code and all.
TEST_F(JobSupervisorTest, ASupervisorOnTheSameStorageAdoptsARunningDriverAndReportsItsEnd) {
  fs::path marker = root_ / "may-end";
  Submit("long", {"/bin/sh", "-c", "echo before; while [ ! -e " + marker.string() + " ]; do sleep 0.02; done; "
                  "echo after; exit 4"});
  EXPECT_EQ(FirstOutput("long").data(), "before\n");
  // `orrery stop` finds the running driver by its pid record, GCS or no GCS.
  fs::path pid_record = root_ / "session" / "pids" / "job-long.pid";
  EXPECT_TRUE(fs::exists(pid_record));
  pid_t driver = Status("long").driver_pid();

  supervisor_.reset();  // as a GCS that died: nothing is stopped
  EXPECT_TRUE(ProcessAlive(driver));
  MakeSupervisor();
  rpc::JobSubmission adopted = Status("long");
  EXPECT_EQ(adopted.state(), State::RUNNING);
  EXPECT_EQ(adopted.driver_pid(), driver);

  std::ofstream(marker) << "go\n";
  rpc::ReadJobLogsReply logs = Follow("long");
  EXPECT_TRUE(logs.end());
  EXPECT_EQ(logs.data(), "before\nafter\n");
  EXPECT_EQ(logs.job().state(), State::FAILED);
  EXPECT_TRUE(logs.job().has_exit_code());
  EXPECT_EQ(logs.job().exit_code(), 4);
  EXPECT_FALSE(fs::exists(pid_record)) << "an ended job's record stays";
}

// A runner killed under its driver leaves no record of how the driver ended: the job fails
// saying so, and the driver does not run on unwatched.
TEST_F(JobSupervisorTest, ARunnerKilledUnderItsDriverFailsTheJobAndEndsTheDriver) {
  Submit("orphan", {"/bin/sh", "-c", "echo started; exec sleep 1000"});
  FirstOutput("orphan");
  rpc::JobSubmission running = Status("orphan");
  ASSERT_GT(running.runner_pid(), 0);
  ASSERT_EQ(kill(running.runner_pid(), SIGKILL), 0);
  rpc::ReadJobLogsReply logs = Follow("orphan");
  EXPECT_EQ(logs.job().state(), State::FAILED);
  EXPECT_THAT(logs.job().message(), HasSubstr("orrery-job-runner"));
  EXPECT_TRUE(GoneWithin10s(running.driver_pid()));
}

// A job's log is read off the GCS loop. Here its log is a FIFO nobody writes, put in its place:
// reading it holds neither the loop nor the reader (before, the loop waited in open() for good).
TEST_F(JobSupervisorTest, ALogThatCannotBeReadHoldsNeitherTheLoopNorItsReader) {
  rpc::JobSubmission job = Submit("fifo", {"/bin/sh", "-c", "sleep 60"});
  ASSERT_FALSE(job.log_path().empty());
  fs::remove(job.log_path());
  ASSERT_EQ(mkfifo(job.log_path().c_str(), 0600), 0);
  rpc::ReadJobLogsRequest read;
  read.set_submission_id("fifo");
  rpc::ReadJobLogsReply reply;
  EXPECT_TRUE(Call(&JobSupervisor::HandleReadJobLogs, read, &reply).ok());
  EXPECT_EQ(reply.data(), "");
  EXPECT_FALSE(reply.end());
  EXPECT_EQ(Status("fifo").state(), State::RUNNING);
}

}  // namespace
}  // namespace orrery::gcs
