#include "src/gcs/job_supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "boost/asio/post.hpp"
#include "nlohmann/json.hpp"
#include "src/common/clock.h"
#include "src/common/daemon_ready.h"
#include "src/common/file_util.h"
#include "src/common/log.h"
#include "src/common/log_files.h"
#include "src/common/process.h"
#include "src/common/timer_duration.h"
#include "src/common/random.h"
#include "src/common/runtime_env.h"
#include "src/common/session.h"
#include "src/rpc/process_tls.h"

namespace orrery::gcs {

namespace {

using State = rpc::JobSubmission;

constexpr int64_t kLongestLogWaitMs = 30'000;
constexpr int64_t kDefaultStopGraceMs = 10'000;

// A submission id becomes part of a file name: letters, digits, '_', '-' and '.', not first.
absl::Status ValidateSubmissionId(const std::string& id) {
  bool valid = !id.empty() && id.size() <= 64 && id[0] != '.';
  for (char c : id) valid = valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
  if (valid) return absl::OkStatus();
  return absl::InvalidArgumentError("submission id '" + id +
                                    "' is not valid: use 1 to 64 letters, digits, '_', '-' or '.', not starting "
                                    "with '.'");
}

std::string JobStateName(State::State state) { return State::State_Name(state); }

// The name of a running driver's pid record in the session's pids/.
std::string PidRecordName(const std::string& submission_id) { return "job-" + submission_id; }

}  // namespace

JobSupervisor::JobSupervisor(boost::asio::io_context& io, StoreClient& store, Options options,
                             WorkingDirs::Fetch fetch, FinishJob finish_job)
    : io_(io),
      table_(store, kJobSubmissionTable),
      options_(std::move(options)),
      finish_job_(std::move(finish_job)),
      runner_path_(std::filesystem::path(SelfExePath()).parent_path() / "orrery-job-runner"),
      working_dirs_(io, options_.session_dir + "/job_working_dirs", std::move(fetch)) {
  // Where each runner records how its driver ended.
  if (!options_.session_dir.empty()) {
    if (absl::Status made = MakeDirs(ExitsDir()); !made.ok()) spdlog::warn("job exits: {}", made.message());
  }
  int inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify < 0) {
    spdlog::warn("job logs: no inotify ({}): readers following a log are woken only when its job ends",
                 strerror(errno));
    return;
  }
  inotify_ = std::make_unique<boost::asio::posix::stream_descriptor>(io_, inotify);
  ReadLogEvents();
}

std::string JobSupervisor::ExitsDir() const { return options_.session_dir + "/job_exits"; }

void JobSupervisor::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& [id, job] : jobs_) {
    if (job->record.state() == State::RUNNING) kill(-job->record.driver_pid(), SIGKILL);
  }
}

void JobSupervisor::Persist(const Job& job, std::function<void(absl::Status)> done) {
  const std::string& id = job.record.submission_id();
  table_.Put(id, job.record, [id, done = std::move(done)](absl::Status status) {
    if (!status.ok()) spdlog::error("storing the record of job '{}': {}", id, status.message());
    if (done) done(status);
  });
}

void JobSupervisor::Load(std::function<void(absl::Status)> done) {
  table_.GetAll([this, done = std::move(done)](auto rows) {
    if (!rows.ok()) return done(rows.status());
    for (auto& [id, record] : *rows) {
      auto job = std::make_unique<Job>();
      job->record = std::move(record);
      jobs_[id] = std::move(job);
    }
    for (auto& [id, job] : jobs_) {
      if (job->record.state() == State::RUNNING) Adopt(*job);
      if (job->record.state() == State::PENDING) restored_pending_.push_back(id);
    }
    done(absl::OkStatus());
  });
}

void JobSupervisor::StartRestoredPending() {
  for (const std::string& id : restored_pending_) {
    if (auto it = jobs_.find(id); it != jobs_.end() && it->second->record.state() == State::PENDING) Start(id);
  }
  restored_pending_.clear();
}

void JobSupervisor::Adopt(Job& job) {
  const rpc::JobSubmission& record = job.record;
  pid_t runner = record.runner_pid();
  // The pidfd first, then the check that it is our runner (not a process that reused its pid).
  auto pidfd = runner > 0 ? OpenPidfd(runner) : absl::StatusOr<int>(absl::NotFoundError("no runner"));
  if (pidfd.ok() && PidRecordAlive(PidRecord{"", runner, record.runner_start_time(), ""})) {
    spdlog::info("job '{}': adopted its running driver (pid {})", record.submission_id(), record.driver_pid());
    WatchRunner(job, *pidfd, /*is_child=*/false);
    WatchLog(job);
    // A stop under way when the earlier GCS ended: its SIGKILL after the grace is this GCS's.
    if (record.stop_requested()) Terminate(job, kDefaultStopGraceMs);
    return;
  }
  if (pidfd.ok()) close(*pidfd);  // the pid is another process's now
  OnRunnerExited(record.submission_id());
}

void JobSupervisor::WatchRunner(Job& job, int pidfd, bool is_child) {
  job.runner = std::make_unique<boost::asio::posix::stream_descriptor>(io_, pidfd);
  job.runner_is_child = is_child;
  std::string id = job.record.submission_id();
  job.runner->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                         [this, id](const boost::system::error_code& error) {
                           if (!error) OnRunnerExited(id);
                         });
}

void JobSupervisor::WatchLog(Job& job) {
  if (inotify_ == nullptr) return;
  int watch = inotify_add_watch(inotify_->native_handle(), job.record.log_path().c_str(), IN_MODIFY);
  if (watch < 0) {
    spdlog::warn("job '{}': cannot watch its log {}: {}", job.record.submission_id(), job.record.log_path(),
                 strerror(errno));
    return;
  }
  job.log_watch = watch;
  watched_logs_[watch] = job.record.submission_id();
}

void JobSupervisor::UnwatchLog(Job& job) {
  if (job.log_watch < 0 || inotify_ == nullptr) return;
  inotify_rm_watch(inotify_->native_handle(), job.log_watch);
  watched_logs_.erase(job.log_watch);
  job.log_watch = -1;
}

void JobSupervisor::ReadLogEvents() {
  inotify_->async_read_some(boost::asio::buffer(inotify_buffer_), [this](const boost::system::error_code& error,
                                                                         size_t size) {
    if (error) return;  // the supervisor is going away
    absl::flat_hash_set<std::string> written;
    for (size_t at = 0; at + sizeof(inotify_event) <= size;) {
      const auto* event = reinterpret_cast<const inotify_event*>(inotify_buffer_.data() + at);
      if (auto it = watched_logs_.find(event->wd); it != watched_logs_.end()) written.insert(it->second);
      at += sizeof(inotify_event) + event->len;
    }
    for (const std::string& id : written) OnOutput(id);
    ReadLogEvents();
  });
}

bool JobSupervisor::Ended(const Job& job) {
  auto state = job.record.state();
  return state == State::SUCCEEDED || state == State::FAILED || state == State::STOPPED;
}

JobSupervisor::Job* JobSupervisor::Find(const std::string& submission_id, absl::Status* not_found) {
  auto it = jobs_.find(submission_id);
  if (it != jobs_.end()) return it->second.get();
  *not_found = absl::NotFoundError("no job '" + submission_id + "' (`orrery job list` shows the jobs)");
  return nullptr;
}

void JobSupervisor::HandleSubmitJob(const rpc::SubmitJobRequest& request, rpc::SubmitJobReply* reply,
                                    ReplyCallback done) {
  if (stopped_) return done(absl::UnavailableError("the GCS is stopping"));
  if (options_.session_dir.empty()) {
    return done(absl::FailedPreconditionError(
        "this GCS was started without --session-dir, so it has nowhere to keep job logs: start the head with "
        "`orrery start --head`"));
  }
  std::string id = request.submission_id().empty() ? "job_" + HexEncode(RandomBytes(8)) : request.submission_id();
  if (absl::Status status = ValidateSubmissionId(id); !status.ok()) return done(status);
  if (request.entrypoint().empty() || request.entrypoint(0).empty()) {
    return done(absl::InvalidArgumentError("the job has no entrypoint: give the command after `--`"));
  }
  for (const auto& [name, value] : request.env()) {
    if (absl::Status status = ValidateEnvVarName(name); !status.ok()) return done(status);
  }
  if (auto it = jobs_.find(id); it != jobs_.end()) {
    return done(absl::AlreadyExistsError("job '" + id + "' exists already (" + JobStateName(it->second->record.state()) +
                                         "): choose another submission id, or `orrery job delete " + id +
                                         "` first"));
  }
  auto job = std::make_unique<Job>();
  rpc::JobSubmission& record = job->record;
  record.set_submission_id(id);
  *record.mutable_entrypoint() = request.entrypoint();
  *record.mutable_env() = request.env();
  record.set_working_dir_package(request.working_dir_package());
  record.set_state(State::PENDING);
  record.set_submit_time_ms(NowMs());
  record.set_log_path(SessionDir(options_.session_dir).LogsDir() + "/job-" + id + ".log");
  jobs_[id] = std::move(job);
  spdlog::info("job '{}' submitted: {}", id, absl::StrJoin(request.entrypoint(), " "));

  Start(id);
  // Answered once its record is stored: a restarted GCS knows every job it accepted.
  Persist(*jobs_[id], [this, id, reply, done = std::move(done)](absl::Status stored) {
    if (!stored.ok()) return done(stored);
    if (auto it = jobs_.find(id); it != jobs_.end()) *reply->mutable_job() = it->second->record;
    done(absl::OkStatus());
  });
}

void JobSupervisor::Start(const std::string& submission_id) {
  const std::string package = jobs_[submission_id]->record.working_dir_package();
  if (package.empty()) return Launch(submission_id, "");
  working_dirs_.Ensure(package, [this, submission_id](absl::StatusOr<std::string> folder) {
    auto it = jobs_.find(submission_id);
    if (it == jobs_.end() || it->second->record.state() != State::PENDING) return;
    if (!folder.ok()) {
      return EndUnstarted(*it->second, State::FAILED,
                          absl::StrCat("its working_dir could not be set up: ", folder.status().message()));
    }
    Launch(submission_id, *folder);
  });
}

void JobSupervisor::Launch(const std::string& submission_id, const std::string& cwd) {
  Job& job = *jobs_[submission_id];
  rpc::JobSubmission& record = job.record;
  if (stopped_) return EndUnstarted(job, State::FAILED, "the GCS stopped before the job started");
  // O_APPEND: the driver and whatever it starts share the file without overwriting each other.
  int log = open(record.log_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) {
    return EndUnstarted(job, State::FAILED, absl::StrCat("cannot create its log ", record.log_path(), ": ",
                                                         strerror(errno)));
  }
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) {
    close(log);
    return EndUnstarted(job, State::FAILED, absl::StrCat("cannot make a pipe for its runner: ", strerror(errno)));
  }
  record.set_exit_path(ExitsDir() + "/" + submission_id + ".json");
  unlink(record.exit_path().c_str());  // from a job of the same id, deleted since
  SpawnOptions spawn;
  spawn.argv = {runner_path_, "--ready-fd=" + std::to_string(ready[1]), "--exit-file=" + record.exit_path(), "--"};
  spawn.argv.insert(spawn.argv.end(), record.entrypoint().begin(), record.entrypoint().end());
  spawn.inherit_fds = {ready[1]};
  std::vector<std::string> names;
  for (const auto& [name, value] : record.env()) {
    spawn.env[name] = value;
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  spawn.env["ORRERY_ADDRESS"] = options_.gcs_address();
  spawn.env["ORRERY_TOKEN"] = options_.token;
  spawn.env["ORRERY_TEMP_DIR"] = options_.temp_root;
  // The driver speaks as the cluster does: its operator chose --tls=off for the network.
  spawn.env["ORRERY_TLS"] = rpc::ProcessTls() != nullptr ? "true" : "false";
  spawn.env[kSubmissionIdVariable] = submission_id;
  spawn.env[kJobEnvNamesVariable] = absl::StrJoin(names, ",");
  if (!record.working_dir_package().empty()) spawn.env[kJobWorkingDirPackageVariable] = record.working_dir_package();
  // The GCS's own settings are not the job's business (ORRERY_GCS_STORAGE may hold a Redis password).
  spawn.unset_env = {"ORRERY_GCS_STORAGE", "ORRERY_GCS_STORAGE_PREFIX"};
  // Without a working_dir, the session's folder: somewhere that is the head's, not the GCS's
  // own current folder (wherever `orrery start` ran).
  spawn.cwd = cwd.empty() ? options_.session_dir : cwd;
  spawn.output_fd = log;
  // A session of its own, and no death with the GCS: the driver outlives a GCS restart.
  spawn.new_session = true;
  auto runner = Spawn(spawn);
  close(ready[1]);
  close(log);
  if (!runner.ok() || runner->pidfd < 0) {
    close(ready[0]);
    if (runner.ok()) kill(runner->pid, SIGKILL);
    std::string why = runner.ok() ? "no pidfd for its runner" : std::string(runner.status().message());
    return EndUnstarted(job, State::FAILED, why);
  }
  // The runner reports at once (it only forks and execs the driver): a short wait on the loop.
  auto report = WaitForReady(ready[0], 10'000, "orrery-job-runner", record.log_path());
  close(ready[0]);
  if (!report.ok() || !report->contains("driver_pid")) {
    kill(runner->pid, SIGKILL);
    WaitForExit(runner->pidfd, -1);
    TryReap(runner->pidfd);
    close(runner->pidfd);
    return EndUnstarted(job, State::FAILED, report.ok() ? "its runner reported no driver" : std::string(report.status().message()));
  }
  record.set_state(State::RUNNING);
  record.set_driver_pid((*report)["driver_pid"].get<int>());
  record.set_runner_pid(runner->pid);
  record.set_runner_start_time(ProcessStartTime(runner->pid).value_or(0));
  record.set_start_time_ms(NowMs());
  spdlog::info("job '{}' running as pid {}", submission_id, record.driver_pid());
  // A pid record, so that `orrery stop` ends the driver's group even when no GCS is left to.
  if (absl::Status status = WritePidRecord(SessionDir(options_.session_dir), PidRecordName(submission_id),
                                           record.driver_pid());
      !status.ok()) {
    spdlog::warn("job '{}': no pid record for its driver: {}", submission_id, status.message());
  }
  WatchRunner(job, runner->pidfd, /*is_child=*/true);
  WatchLog(job);
  Persist(job);
}

void JobSupervisor::EndUnstarted(Job& job, rpc::JobSubmission::State state, const std::string& message) {
  rpc::JobSubmission& record = job.record;
  record.set_state(state);
  record.set_message(message);
  record.set_end_time_ms(NowMs());
  spdlog::warn("job '{}' {}: {}", record.submission_id(), JobStateName(state), message);
  // The reason goes in the log too, where someone following it looks.
  int log = open(record.log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log >= 0) {
    std::string line = "orrery job supervisor: job '" + record.submission_id() + "' " + JobStateName(state) + ": " +
                       message + "\n";
    WriteAll(log, line.data(), line.size());
    close(log);
  }
  AfterEnd(job);
}

void JobSupervisor::OnOutput(const std::string& submission_id) {
  auto it = jobs_.find(submission_id);
  if (it == jobs_.end()) return;
  ++it->second->outputs;
  WakeReaders(*it->second);
}

void JobSupervisor::OnRunnerExited(const std::string& submission_id) {
  auto it = jobs_.find(submission_id);
  if (it == jobs_.end()) return;
  Job& job = *it->second;
  std::string runner_ended;
  if (job.runner != nullptr && job.runner_is_child) {
    if (auto reaped = TryReap(job.runner->native_handle()); reaped.has_value()) {
      runner_ended = DescribeWaitStatus(*reaped);
    }
  }
  job.runner.reset();
  auto recorded = ReadFileToString(job.record.exit_path());
  auto parsed = nlohmann::json::parse(recorded.ok() ? *recorded : "", nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object() && parsed.contains("wait_status") && parsed["wait_status"].is_number_integer()) {
    return OnExited(job, parsed["wait_status"].get<int>());
  }
  // The runner died before its driver (it was killed), or while the GCS was down and its record
  // is unreadable: how the driver ended is unknown, and it may still run.
  kill(-job.record.driver_pid(), SIGKILL);
  job.record.set_end_time_ms(NowMs());
  job.record.set_state(job.record.stop_requested() ? State::STOPPED : State::FAILED);
  job.record.set_message(absl::StrCat("its runner (orrery-job-runner, pid ", job.record.runner_pid(), ") ",
                                      runner_ended.empty() ? "ended" : runner_ended,
                                      " without recording how the driver ended; the driver was killed"));
  spdlog::warn("job '{}' {}: {}", submission_id, JobStateName(job.record.state()), job.record.message());
  AfterEnd(job);
}

void JobSupervisor::OnExited(Job& job, int wait_status) {
  if (job.kill_timer) job.kill_timer->cancel();
  rpc::JobSubmission& record = job.record;
  record.set_end_time_ms(NowMs());
  if (WIFEXITED(wait_status)) {
    record.set_has_exit_code(true);
    record.set_exit_code(WEXITSTATUS(wait_status));
  }
  if (job.record.stop_requested()) {
    record.set_state(State::STOPPED);
    record.set_message("stopped by `orrery job stop` (its driver " + DescribeWaitStatus(wait_status) + ")");
  } else if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) {
    record.set_state(State::SUCCEEDED);
    record.set_message("its driver exited with code 0");
  } else {
    record.set_state(State::FAILED);
    record.set_message("its driver " + DescribeWaitStatus(wait_status));
  }
  spdlog::info("job '{}' {}: {}", record.submission_id(), JobStateName(record.state()), record.message());
  AfterEnd(job);
}

void JobSupervisor::AfterEnd(Job& job) {
  rpc::JobSubmission& record = job.record;
  UnwatchLog(job);
  ReleaseWorkingDir(record.working_dir_package());
  RemovePidRecord(SessionDir(options_.session_dir), PidRecordName(record.submission_id()));
  Persist(job);
  // A driver that did not shut down cleanly leaves its job running until its raylet notices;
  // ending it here frees its workers, actors and resources at once.
  if (!record.job_id().empty()) {
    if (auto job_id = JobId::FromBinary(record.job_id()); job_id.ok()) {
      finish_job_(*job_id, "its submitted driver ended (" + JobStateName(record.state()) + ")");
    }
  }
  for (StopWaiter& waiter : job.stoppers) {
    *waiter.reply->mutable_job() = record;
    waiter.done(absl::OkStatus());
  }
  job.stoppers.clear();
  WakeReaders(job);
}

void JobSupervisor::ReleaseWorkingDir(const std::string& package) {
  if (package.empty()) return;
  bool in_use = false;
  ForEachPackageInUse([&](const std::string& used) { in_use = in_use || used == package; });
  if (!in_use) working_dirs_.Release(package);
}

void JobSupervisor::HandleGetJobSubmission(const rpc::GetJobSubmissionRequest& request,
                                           rpc::GetJobSubmissionReply* reply, ReplyCallback done) {
  absl::Status not_found;
  Job* job = Find(request.submission_id(), &not_found);
  if (job == nullptr) return done(not_found);
  *reply->mutable_job() = job->record;
  done(absl::OkStatus());
}

void JobSupervisor::HandleListJobSubmissions(const rpc::ListJobSubmissionsRequest&,
                                             rpc::ListJobSubmissionsReply* reply, ReplyCallback done) {
  for (const auto& [id, job] : jobs_) *reply->add_jobs() = job->record;
  std::sort(reply->mutable_jobs()->begin(), reply->mutable_jobs()->end(),
            [](const rpc::JobSubmission& a, const rpc::JobSubmission& b) {
              if (a.submit_time_ms() != b.submit_time_ms()) return a.submit_time_ms() < b.submit_time_ms();
              return a.submission_id() < b.submission_id();
            });
  done(absl::OkStatus());
}

void JobSupervisor::HandleStopJob(const rpc::StopJobRequest& request, rpc::StopJobReply* reply, ReplyCallback done) {
  absl::Status not_found;
  Job* job = Find(request.submission_id(), &not_found);
  if (job == nullptr) return done(not_found);
  if (Ended(*job)) {
    *reply->mutable_job() = job->record;
    return done(absl::OkStatus());
  }
  if (job->record.state() == State::PENDING) {
    job->record.set_stop_requested(true);
    EndUnstarted(*job, State::STOPPED, "stopped by `orrery job stop` before its driver started");
    *reply->mutable_job() = job->record;
    return done(absl::OkStatus());
  }
  job->stoppers.push_back({reply, std::move(done)});
  if (job->record.stop_requested()) return;  // a stop is under way; this caller waits for it too
  job->record.set_stop_requested(true);
  Persist(*job);
  spdlog::info("job '{}': stopping its driver (pid {})", request.submission_id(), job->record.driver_pid());
  Terminate(*job, request.grace_ms() > 0 ? request.grace_ms() : kDefaultStopGraceMs);
}

void JobSupervisor::Terminate(Job& job, int64_t grace_ms) {
  pid_t group = job.record.driver_pid();
  kill(-group, SIGTERM);
  job.kill_timer = std::make_unique<boost::asio::steady_timer>(io_, TimerDuration(grace_ms));
  job.kill_timer->async_wait([group](const boost::system::error_code& error) {
    if (!error) kill(-group, SIGKILL);  // the driver's group is only ever reaped by its runner
  });
}

void JobSupervisor::HandleDeleteJob(const rpc::DeleteJobRequest& request, rpc::DeleteJobReply*, ReplyCallback done) {
  absl::Status not_found;
  Job* job = Find(request.submission_id(), &not_found);
  if (job == nullptr) return done(not_found);
  if (!Ended(*job)) {
    return done(absl::FailedPreconditionError("job '" + request.submission_id() + "' is " +
                                              JobStateName(job->record.state()) + ": stop it first (`orrery job stop " +
                                              request.submission_id() + "`)"));
  }
  unlink(job->record.log_path().c_str());
  if (!job->record.exit_path().empty()) unlink(job->record.exit_path().c_str());
  jobs_.erase(request.submission_id());
  table_.Delete(request.submission_id(), std::move(done));
}

void JobSupervisor::HandleReadJobLogs(const rpc::ReadJobLogsRequest& request, rpc::ReadJobLogsReply* reply,
                                      ReplyCallback done) {
  absl::Status not_found;
  Job* job = Find(request.submission_id(), &not_found);
  if (job == nullptr) return done(not_found);
  if (request.offset() < 0) return done(absl::InvalidArgumentError("log offset must not be negative"));
  auto reader = std::make_shared<LogReader>();
  reader->request = request;
  reader->reply = reply;
  reader->done = std::move(done);
  Read(*job, reader, request.wait_ms() > 0);
}

void JobSupervisor::Read(Job& job, const std::shared_ptr<LogReader>& reader, bool may_wait) {
  if (reader->answered) return;
  const rpc::ReadJobLogsRequest& request = reader->request;
  rpc::ReadLogRequest read;
  read.set_name(std::filesystem::path(job.record.log_path()).filename().string());
  read.set_offset(request.offset());
  read.set_max_bytes(request.max_bytes());
  // The log's own folder: a job adopted from an earlier session logs into that session's.
  std::string dir = std::filesystem::path(job.record.log_path()).parent_path().string();
  // The read touches the disk, so it runs off the GCS loop; its answer is made back on it.
  boost::asio::post(log_reads_, [this, id = job.record.submission_id(), dir = std::move(dir), read = std::move(read),
                                 reader, may_wait, outputs = job.outputs] {
    auto piece = ReadLogFile(dir, read);
    boost::asio::post(io_, [this, id, reader, may_wait, outputs, piece = std::move(piece)]() mutable {
      auto it = jobs_.find(id);
      if (it == jobs_.end()) {
        if (!reader->answered) reader->done(absl::NotFoundError("job '" + id + "' was deleted"));
        reader->answered = true;
        return;
      }
      Answer(*it->second, reader, may_wait, outputs, std::move(piece));
    });
  });
}

void JobSupervisor::Answer(Job& job, const std::shared_ptr<LogReader>& reader, bool may_wait, uint64_t outputs,
                           absl::StatusOr<rpc::ReadLogReply> piece) {
  if (reader->answered) return;  // a wake and its wait's end both read for it: the first answers
  const rpc::ReadJobLogsRequest& request = reader->request;
  // No log yet (the job is PENDING): nothing to read so far.
  std::string data = piece.ok() ? std::move(*piece->mutable_data()) : "";
  int64_t size = piece.ok() ? piece->size() : 0;
  int64_t next = request.offset() + static_cast<int64_t>(data.size());
  bool ended = Ended(job);
  if (data.empty() && !ended && may_wait) {
    // Output that came while this read was under way woke no one for it: read once more.
    if (job.outputs != outputs) return Read(job, reader, may_wait);
    if (reader->timer == nullptr) {
      int64_t wait = std::min(request.wait_ms(), kLongestLogWaitMs);
      reader->timer = std::make_unique<boost::asio::steady_timer>(io_, std::chrono::milliseconds(wait));
      std::string id = job.record.submission_id();
      reader->timer->async_wait([this, id, reader](const boost::system::error_code& error) {
        if (error || reader->answered) return;  // answered when output came or the job ended
        auto it = jobs_.find(id);
        if (it == jobs_.end()) return reader->done(absl::NotFoundError("job '" + id + "' was deleted"));
        auto& readers = it->second->readers;
        readers.erase(std::remove(readers.begin(), readers.end(), reader), readers.end());
        Read(*it->second, reader, /*may_wait=*/false);
      });
    }
    job.readers.push_back(reader);
    return;
  }
  reader->answered = true;
  job.readers.erase(std::remove(job.readers.begin(), job.readers.end(), reader), job.readers.end());
  if (reader->timer != nullptr) reader->timer->cancel();
  reader->reply->set_data(std::move(data));
  reader->reply->set_next_offset(next);
  reader->reply->set_end(ended && next >= size);
  *reader->reply->mutable_job() = job.record;
  reader->done(absl::OkStatus());
}

void JobSupervisor::WakeReaders(Job& job) {
  std::vector<std::shared_ptr<LogReader>> readers;
  readers.swap(job.readers);
  // Each is answered if there is something for it now; the others wait on.
  for (const auto& reader : readers) Read(job, reader, /*may_wait=*/true);
}

void JobSupervisor::HandleReportJobDriver(const rpc::ReportJobDriverRequest& request, rpc::ReportJobDriverReply*,
                                          ReplyCallback done) {
  absl::Status not_found;
  Job* job = Find(request.submission_id(), &not_found);
  if (job == nullptr) return done(not_found);
  auto job_id = JobId::FromBinary(request.job_id());
  if (!job_id.ok()) return done(absl::InvalidArgumentError("ReportJobDriver: malformed job id"));
  job->record.set_job_id(request.job_id());
  Persist(*job);
  // A driver that registered after its job ended (it outlived its own process group leader)
  // must not keep a job of the cluster running.
  if (Ended(*job)) finish_job_(*job_id, "its submitted driver had ended");
  done(absl::OkStatus());
}

}  // namespace orrery::gcs
