// `orrery job`: submit a driver program for the head to run, follow its output, and show, stop,
// list and delete submitted jobs. Everything goes through the GCS's JobSubmissionService; this
// file only turns flags into requests and replies into lines.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "orrery/job_submission.grpc.pb.h"
#include "orrery/task_events.grpc.pb.h"

#include "src/cli/cluster_connection.h"
#include "src/cli/commands.h"
#include "src/cli/live_line.h"
#include "src/common/directory_package.h"
#include "src/common/id.h"
#include "src/common/runtime_env.h"
#include "src/gcs/client/package_upload.h"
#include "src/state/format.h"
#include "src/state/table.h"

namespace orrery::cli {

using state::HumanDuration;
using state::LocalTime;
using state::NowMs;
using state::PrintTable;
using state::QuotedCommandLine;

namespace {

using rpc::JobSubmission;
using JobService = rpc::JobSubmissionService;

// A larger --working-dir is refused before anything is sent.
constexpr int64_t kMaxWorkingDirBytes = 100 << 20;
// Submitting fetches and unpacks the working_dir package on the head before it answers.
constexpr int64_t kSubmitTimeoutMs = 30'000;
// Stopping answers once the driver has exited: the grace period, then room for the kill.
constexpr int64_t kStopMarginMs = 30'000;
// How long one read of a followed log waits on the server for new output.
constexpr int64_t kFollowWaitMs = 1'000;

struct JobFlags {
  ClusterFlags cluster;
  std::string submission_id;
  // submit
  std::string working_dir;
  std::vector<std::string> env;
  std::vector<std::string> entrypoint;
  bool no_wait = false;
  // logs
  bool follow = false;
  // stop
  int64_t grace_ms = 10'000;
};

// Connects to the cluster the flags name, then runs `verb` against it; the exit code.
int RunAgainstCluster(const std::string& verb, const ClusterFlags& flags,
                      const std::function<int(const ClusterConnection&)>& body) {
  auto cluster = ConnectToCluster(flags);
  if (!cluster.ok()) return Fail(verb, std::string(cluster.status().message()));
  return body(*cluster);
}

std::string StateName(const JobSubmission& job) { return JobSubmission::State_Name(job.state()); }

// How a job ended (or where it is): "SUCCEEDED (exit code 0)", "FAILED: <why>", "STOPPED".
std::string Outcome(const JobSubmission& job) {
  std::string state = StateName(job);
  if (job.state() == JobSubmission::SUCCEEDED || job.state() == JobSubmission::FAILED) {
    if (job.has_exit_code()) return absl::StrCat(state, " (exit code ", job.exit_code(), ")");
    if (!job.message().empty()) return absl::StrCat(state, ": ", job.message());
  }
  return state;
}

// `orrery job submit`'s exit code: the driver's own when it failed with one.
int ExitCodeOf(const JobSubmission& job) {
  if (job.state() == JobSubmission::SUCCEEDED) return 0;
  if (job.state() == JobSubmission::FAILED && job.has_exit_code() && job.exit_code() != 0) return job.exit_code();
  return 1;
}

// How long the driver ran, or has run so far; "-" when it never started.
std::string RunTime(const JobSubmission& job) {
  if (job.start_time_ms() <= 0) return "-";
  return HumanDuration((job.end_time_ms() > 0 ? job.end_time_ms() : NowMs()) - job.start_time_ms());
}

std::string JobIdHex(const JobSubmission& job) {
  auto id = JobId::FromBinary(job.job_id());
  return id.ok() ? id->Hex() : "-";
}

// The driver's command line, quoted as a shell would need it.
std::string Entrypoint(const JobSubmission& job) {
  return QuotedCommandLine({job.entrypoint().begin(), job.entrypoint().end()});
}

struct LogTail {
  JobSubmission job;      // as of the last read
  bool ends_line = true;  // what was written ended with a newline (or nothing was written)
};

// The job's tasks by state on `live`, at most once per kTaskLinePeriod (a failed read leaves
// the line as it was: the log matters more).
class TaskLine {
 public:
  TaskLine(const ClusterConnection& cluster, LiveLine& live) : cluster_(cluster), live_(live) {}

  void Refresh(const JobSubmission& job) {
    auto now = std::chrono::steady_clock::now();
    if (job.job_id().empty() || now - last_ < kTaskLinePeriod) return;
    last_ = now;
    rpc::GetTaskEventsRequest request;
    request.set_job_id(job.job_id());
    request.set_counts_only(true);
    auto counts = CallGcs<rpc::TaskEventService>(cluster_, &rpc::TaskEventService::Stub::async::GetTaskEvents, request);
    if (counts.ok() && counts->jobs_size() > 0) live_.Show(JobTasksLine(counts->jobs(0)));
  }

 private:
  static constexpr auto kTaskLinePeriod = std::chrono::seconds(1);
  const ClusterConnection& cluster_;
  LiveLine& live_;
  std::chrono::steady_clock::time_point last_{};
};

// Copies the job's log to stdout from the start. Following, it waits for more until the job
// has ended and everything it wrote is out; otherwise it stops at the end of what is there.
// With `live` (stdout is a terminal), the job's tasks by state are kept on a line under the log
// while it is followed, and erased at its end. Ctrl-C ends only this process: the job runs on.
absl::StatusOr<LogTail> CopyLog(const ClusterConnection& cluster, const std::string& submission_id, bool follow,
                                LiveLine* live = nullptr) {
  rpc::ReadJobLogsRequest request;
  request.set_submission_id(submission_id);
  request.set_wait_ms(follow ? kFollowWaitMs : 0);
  std::optional<TaskLine> task_line;
  if (live != nullptr && follow) task_line.emplace(cluster, *live);
  LogTail tail;
  while (true) {
    auto reply = CallGcs<JobService>(cluster, &JobService::Stub::async::ReadJobLogs, request,
                                     request.wait_ms() + kCallGcsTimeoutMs);
    if (!reply.ok()) {
      if (live != nullptr) live->Clear();
      return reply.status();
    }
    const std::string& data = reply->data();
    if (!data.empty()) {
      if (live != nullptr) {
        live->Write(data);
      } else {
        fwrite(data.data(), 1, data.size(), stdout);
        fflush(stdout);
      }
      tail.ends_line = data.back() == '\n';
    }
    tail.job = reply->job();
    request.set_offset(reply->next_offset());
    if (reply->end() || (!follow && data.empty())) {
      if (live != nullptr) live->Clear();
      return tail;
    }
    if (task_line) task_line->Refresh(tail.job);
  }
}

// NAME=VALUE pairs, each name one a job may set.
absl::StatusOr<std::map<std::string, std::string>> ParseEnv(const std::vector<std::string>& entries) {
  std::map<std::string, std::string> env;
  for (const std::string& entry : entries) {
    size_t equals = entry.find('=');
    if (equals == std::string::npos) return absl::InvalidArgumentError("--env " + entry + ": expected NAME=VALUE");
    std::string name = entry.substr(0, equals);
    absl::Status valid = ValidateEnvVarName(name);
    if (!valid.ok()) return absl::InvalidArgumentError("--env " + entry + ": " + std::string(valid.message()));
    if (!env.emplace(name, entry.substr(equals + 1)).second) {
      return absl::InvalidArgumentError("--env " + name + " is given more than once");
    }
  }
  return env;
}

int RunSubmit(const JobFlags& flags) {
  const std::string verb = "job submit";
  if (flags.entrypoint.empty()) {
    return Fail(verb, "no entrypoint: put the driver's command after --, e.g. orrery job submit -- ./my_driver --n 3");
  }
  auto env = ParseEnv(flags.env);
  if (!env.ok()) return Fail(verb, std::string(env.status().message()));
  // Packed before connecting, so that a bad folder is reported without a cluster.
  DirectoryPackage package;
  if (!flags.working_dir.empty()) {
    auto packed = PackDirectory(flags.working_dir, kMaxWorkingDirBytes);
    if (!packed.ok()) return Fail(verb, "--working-dir: " + std::string(packed.status().message()));
    package = std::move(*packed);
  }
  return RunAgainstCluster(verb, flags.cluster, [&](const ClusterConnection& cluster) {
    rpc::SubmitJobRequest request;
    request.set_submission_id(flags.submission_id);
    for (const std::string& arg : flags.entrypoint) request.add_entrypoint(arg);
    // Without a working_dir the driver starts in the head's session folder: a program named
    // relative to where this command runs means this host's folder, as a user typing it expects.
    const std::string& program = flags.entrypoint[0];
    if (flags.working_dir.empty() && program[0] != '/' && program.find('/') != std::string::npos) {
      request.set_entrypoint(0, std::filesystem::absolute(program).lexically_normal().string());
    }
    request.mutable_env()->insert(env->begin(), env->end());
    if (!flags.working_dir.empty()) {
      absl::Status uploaded = gcs::UploadPackage(*cluster.gcs, package);
      if (!uploaded.ok()) {
        return Fail(verb, "--working-dir " + flags.working_dir + ": " + std::string(uploaded.message()));
      }
      request.set_working_dir_package(package.sha256_hex);
    }
    auto submitted = CallGcs<JobService>(cluster, &JobService::Stub::async::SubmitJob, request, kSubmitTimeoutMs);
    if (!submitted.ok()) return Fail(verb, std::string(submitted.status().message()));
    const std::string& id = submitted->job().submission_id();
    printf("Job '%s' submitted.\n", id.c_str());
    if (flags.no_wait) {
      // The id last, so that a script can take the last word of the output.
      printf("Follow its output with: orrery job logs --follow %s\n", id.c_str());
      return 0;
    }
    fflush(stdout);
    std::optional<LiveLine> live;
    if (isatty(STDOUT_FILENO)) live.emplace(stdout);
    auto tail = CopyLog(cluster, id, /*follow=*/true, live ? &*live : nullptr);
    if (!tail.ok()) return Fail(verb, "following job '" + id + "': " + std::string(tail.status().message()));
    printf("%sJob '%s' %s\n", tail->ends_line ? "" : "\n", id.c_str(), Outcome(tail->job).c_str());
    return ExitCodeOf(tail->job);
  });
}

int RunJobLogs(const JobFlags& flags) {
  return RunAgainstCluster("job logs", flags.cluster, [&](const ClusterConnection& cluster) {
    auto tail = CopyLog(cluster, flags.submission_id, flags.follow);
    return tail.ok() ? 0 : Fail("job logs", std::string(tail.status().message()));
  });
}

void PrintField(const std::string& label, const std::string& value) {
  printf("%-15s%s\n", (label + ":").c_str(), value.c_str());
}

int RunJobStatus(const JobFlags& flags) {
  return RunAgainstCluster("job status", flags.cluster, [&](const ClusterConnection& cluster) {
    rpc::GetJobSubmissionRequest request;
    request.set_submission_id(flags.submission_id);
    auto reply = CallGcs<JobService>(cluster, &JobService::Stub::async::GetJobSubmission, request);
    if (!reply.ok()) return Fail("job status", std::string(reply.status().message()));
    const JobSubmission& job = reply->job();
    PrintField("Submission id", job.submission_id());
    PrintField("State", StateName(job));
    PrintField("Job id", JobIdHex(job));
    PrintField("Driver pid", job.driver_pid() > 0 ? std::to_string(job.driver_pid()) : "-");
    PrintField("Entrypoint", Entrypoint(job));
    if (!job.env().empty()) {
      std::map<std::string, std::string> sorted(job.env().begin(), job.env().end());
      PrintField("Env", absl::StrJoin(sorted, " ", absl::PairFormatter("=")));
    }
    if (!job.working_dir_package().empty()) PrintField("Working dir", "package " + job.working_dir_package());
    PrintField("Submitted", LocalTime(job.submit_time_ms()));
    PrintField("Started", LocalTime(job.start_time_ms()));
    PrintField("Ended", LocalTime(job.end_time_ms()));
    PrintField("Ran for", RunTime(job));
    if (job.has_exit_code()) PrintField("Exit code", std::to_string(job.exit_code()));
    if (!job.message().empty()) PrintField("Message", job.message());
    PrintField("Log", job.log_path().empty() ? "-" : job.log_path() + " (on the head)");
    return 0;
  });
}

int RunJobStop(const JobFlags& flags) {
  if (flags.grace_ms < 0) return Fail("job stop", "--grace-ms must not be negative");
  return RunAgainstCluster("job stop", flags.cluster, [&](const ClusterConnection& cluster) {
    rpc::StopJobRequest request;
    request.set_submission_id(flags.submission_id);
    request.set_grace_ms(flags.grace_ms);
    auto reply =
        CallGcs<JobService>(cluster, &JobService::Stub::async::StopJob, request, flags.grace_ms + kStopMarginMs);
    if (!reply.ok()) return Fail("job stop", std::string(reply.status().message()));
    const JobSubmission& job = reply->job();
    if (job.state() == JobSubmission::STOPPED) {
      printf("Job '%s' stopped.\n", flags.submission_id.c_str());
    } else {
      printf("Job '%s' had already ended: %s\n", flags.submission_id.c_str(), Outcome(job).c_str());
    }
    return 0;
  });
}

int RunJobList(const JobFlags& flags) {
  return RunAgainstCluster("job list", flags.cluster, [&](const ClusterConnection& cluster) {
    auto reply =
        CallGcs<JobService>(cluster, &JobService::Stub::async::ListJobSubmissions, rpc::ListJobSubmissionsRequest());
    if (!reply.ok()) return Fail("job list", std::string(reply.status().message()));
    std::vector<std::vector<std::string>> rows = {
        {"SUBMISSION ID", "STATE", "JOB ID", "START", "DURATION", "ENTRYPOINT"}};
    for (const JobSubmission& job : reply->jobs()) {
      rows.push_back({job.submission_id(), StateName(job), JobIdHex(job), LocalTime(job.start_time_ms()), RunTime(job),
                      Entrypoint(job)});
    }
    PrintTable(rows);
    if (reply->jobs().empty()) printf("(none)\n");
    return 0;
  });
}

int RunDelete(const JobFlags& flags) {
  return RunAgainstCluster("job delete", flags.cluster, [&](const ClusterConnection& cluster) {
    rpc::DeleteJobRequest request;
    request.set_submission_id(flags.submission_id);
    auto reply = CallGcs<JobService>(cluster, &JobService::Stub::async::DeleteJob, request);
    if (!reply.ok()) return Fail("job delete", std::string(reply.status().message()));
    printf("Job '%s' deleted.\n", flags.submission_id.c_str());
    return 0;
  });
}

// A verb of `orrery job`, with the flags naming the cluster and, unless it is `list` or
// `submit`, the submission id it acts on.
CLI::App* AddVerb(CLI::App& job, const std::string& name, const std::string& description, JobFlags& flags,
                  bool takes_id) {
  CLI::App* verb = job.add_subcommand(name, description);
  if (takes_id) verb->add_option("submission_id", flags.submission_id, "The job's submission id")->required();
  AddClusterFlags(*verb, flags.cluster);
  return verb;
}

}  // namespace

void AddJobCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<JobFlags>();
  CLI::App* job = app.add_subcommand("job", "Run a driver program on the cluster's head, and manage such jobs");
  job->require_subcommand(1);

  CLI::App* submit = AddVerb(*job, "submit", "Submit a driver to run on the head; follow its output unless --no-wait",
                             *flags, /*takes_id=*/false);
  submit->add_option("--working-dir", flags->working_dir,
                     "Folder (up to 100 MiB) to run the driver and the job's workers in");
  // One NAME=VALUE per --env, so that a value never swallows the words after it.
  submit->add_option("--env", flags->env, "NAME=VALUE for the driver and the job's workers (repeatable)")
      ->allow_extra_args(false);
  submit->add_option("--submission-id", flags->submission_id, "Id for the job (default: job_ and 16 hex digits)");
  submit->add_flag("--no-wait", flags->no_wait, "Print the submission id and return without following the job");
  submit->add_option("entrypoint", flags->entrypoint, "The driver's command and arguments, after -- (no shell)");
  submit->footer("Example: orrery job submit --working-dir . --env MODE=fast -- ./build/my_driver --n 3");
  submit->callback([flags, &exit_code] { exit_code = RunSubmit(*flags); });

  AddVerb(*job, "status", "Show a job's state, driver and times", *flags, true)->callback([flags, &exit_code] {
    exit_code = RunJobStatus(*flags);
  });

  CLI::App* logs = AddVerb(*job, "logs", "Print a job's output (stdout and stderr of its driver)", *flags, true);
  logs->add_flag("-f,--follow", flags->follow, "Keep printing new output until the job ends");
  logs->callback([flags, &exit_code] { exit_code = RunJobLogs(*flags); });

  CLI::App* stop =
      AddVerb(*job, "stop", "Stop a job: SIGTERM to its driver, SIGKILL after the grace period", *flags, true);
  stop->add_option("--grace-ms", flags->grace_ms, "How long the driver has to exit after SIGTERM")
      ->capture_default_str();
  stop->callback([flags, &exit_code] { exit_code = RunJobStop(*flags); });

  AddVerb(*job, "list", "List the submitted jobs, oldest first", *flags, false)->callback([flags, &exit_code] {
    exit_code = RunJobList(*flags);
  });

  AddVerb(*job, "delete", "Forget an ended job's record", *flags, true)->callback([flags, &exit_code] {
    exit_code = RunDelete(*flags);
  });
}

}  // namespace orrery::cli
