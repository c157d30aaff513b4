#include "src/gcs/job_supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "boost/asio/post.hpp"
#include "src/common/clock.h"
#include "src/common/file_util.h"
#include "src/common/log.h"
#include "src/common/log_files.h"
#include "src/common/process.h"
#include "src/common/random.h"
#include "src/common/runtime_env.h"
#include "src/common/session.h"

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

// Copies everything readable from `from` into `to`; false at end of file or on an error.
bool CopyAvailable(int from, int to) {
  char buffer[64 * 1024];
  while (true) {
    ssize_t n = read(from, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    if (n <= 0) return false;
    WriteAll(to, buffer, static_cast<size_t>(n));
  }
}

// The watcher of one driver, on a thread of its own: output into the log as it comes, until the
// driver exits (descendants that keep the pipe open do not hold the job up), then its status.
void Watch(int output, int log, int pidfd, std::function<void()> on_output, std::function<void(int)> on_exit) {
  fcntl(output, F_SETFL, fcntl(output, F_GETFL) | O_NONBLOCK);
  bool open = true;
  while (true) {
    struct pollfd fds[2] = {{pidfd, POLLIN, 0}, {open ? output : -1, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (fds[1].revents != 0) {
      open = CopyAvailable(output, log);
      on_output();
    }
    if (fds[0].revents != 0) break;
  }
  if (open) CopyAvailable(output, log);
  int status = 0;
  for (int i = 0; i < 100; ++i) {  // the pidfd is readable once the driver is a zombie
    if (auto reaped = TryReap(pidfd); reaped.has_value()) {
      status = *reaped;
      break;
    }
    WaitForExit(pidfd, 10);
  }
  close(output);
  close(log);
  close(pidfd);
  on_exit(status);
}

std::string StateName(State::State state) { return State::State_Name(state); }

}  // namespace

JobSupervisor::JobSupervisor(boost::asio::io_context& io, Options options, WorkingDirs::Fetch fetch,
                             FinishJob finish_job)
    : io_(io),
      options_(std::move(options)),
      finish_job_(std::move(finish_job)),
      working_dirs_(io, options_.session_dir + "/job_working_dirs", std::move(fetch)) {}

JobSupervisor::~JobSupervisor() {
  Stop();
  for (auto& [id, job] : jobs_) {
    if (job->watcher.joinable()) job->watcher.join();
  }
}

void JobSupervisor::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& [id, job] : jobs_) {
    if (job->record.state() == State::RUNNING) kill(-job->record.driver_pid(), SIGKILL);
  }
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
    return done(absl::AlreadyExistsError("job '" + id + "' exists already (" + StateName(it->second->record.state()) +
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

  if (request.working_dir_package().empty()) {
    Launch(id, "");
  } else {
    working_dirs_.Ensure(request.working_dir_package(), [this, id](absl::StatusOr<std::string> folder) {
      auto it = jobs_.find(id);
      if (it == jobs_.end() || it->second->record.state() != State::PENDING) return;
      if (!folder.ok()) {
        return EndUnstarted(*it->second, State::FAILED,
                            absl::StrCat("its working_dir could not be set up: ", folder.status().message()));
      }
      Launch(id, *folder);
    });
  }
  *reply->mutable_job() = jobs_[id]->record;
  done(absl::OkStatus());
}

void JobSupervisor::Launch(const std::string& submission_id, const std::string& cwd) {
  Job& job = *jobs_[submission_id];
  rpc::JobSubmission& record = job.record;
  if (stopped_) return EndUnstarted(job, State::FAILED, "the GCS stopped before the job started");
  int log = open(record.log_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log < 0) {
    return EndUnstarted(job, State::FAILED, absl::StrCat("cannot create its log ", record.log_path(), ": ",
                                                         strerror(errno)));
  }
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    close(log);
    return EndUnstarted(job, State::FAILED, absl::StrCat("cannot make a pipe for its output: ", strerror(errno)));
  }
  SpawnOptions spawn;
  spawn.argv.assign(record.entrypoint().begin(), record.entrypoint().end());
  std::vector<std::string> names;
  for (const auto& [name, value] : record.env()) {
    spawn.env[name] = value;
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  spawn.env["ORRERY_ADDRESS"] = options_.gcs_address();
  spawn.env["ORRERY_TOKEN"] = options_.token;
  spawn.env["ORRERY_TEMP_DIR"] = options_.temp_root;
  spawn.env[kSubmissionIdVariable] = submission_id;
  spawn.env[kJobEnvNamesVariable] = absl::StrJoin(names, ",");
  if (!record.working_dir_package().empty()) spawn.env[kJobWorkingDirPackageVariable] = record.working_dir_package();
  // The GCS's own settings are not the job's business (ORRERY_GCS_STORAGE may hold a Redis password).
  spawn.unset_env = {"ORRERY_GCS_STORAGE", "ORRERY_GCS_STORAGE_PREFIX"};
  // Without a working_dir, the session's folder: somewhere that is the head's, not the GCS's
  // own current folder (wherever `orrery start` ran).
  spawn.cwd = cwd.empty() ? options_.session_dir : cwd;
  spawn.output_fd = pipe_fds[1];
  spawn.new_session = true;  // its own process group: a stop reaches whatever it started
  spawn.die_with_parent = true;
  auto child = Spawn(spawn);
  close(pipe_fds[1]);
  if (!child.ok() || child->pidfd < 0) {
    close(pipe_fds[0]);
    close(log);
    if (child.ok()) kill(-child->pid, SIGKILL);
    std::string why = child.ok() ? "no pidfd for its driver" : std::string(child.status().message());
    return EndUnstarted(job, State::FAILED, why);
  }
  record.set_state(State::RUNNING);
  record.set_driver_pid(child->pid);
  record.set_start_time_ms(NowMs());
  spdlog::info("job '{}' running as pid {}", submission_id, child->pid);
  auto on_output = [this, submission_id] { boost::asio::post(io_, [this, submission_id] { OnOutput(submission_id); }); };
  auto on_exit = [this, submission_id](int status) {
    boost::asio::post(io_, [this, submission_id, status] { OnExited(submission_id, status); });
  };
  job.watcher = std::thread(Watch, pipe_fds[0], log, child->pidfd, std::move(on_output), std::move(on_exit));
}

void JobSupervisor::EndUnstarted(Job& job, rpc::JobSubmission::State state, const std::string& message) {
  rpc::JobSubmission& record = job.record;
  record.set_state(state);
  record.set_message(message);
  record.set_end_time_ms(NowMs());
  spdlog::warn("job '{}' {}: {}", record.submission_id(), StateName(state), message);
  // The reason goes in the log too, where someone following it looks.
  int log = open(record.log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log >= 0) {
    std::string line = "orrery job supervisor: job '" + record.submission_id() + "' " + StateName(state) + ": " +
                       message + "\n";
    WriteAll(log, line.data(), line.size());
    close(log);
  }
  AfterEnd(job);
}

void JobSupervisor::OnOutput(const std::string& submission_id) {
  if (auto it = jobs_.find(submission_id); it != jobs_.end()) WakeReaders(*it->second);
}

void JobSupervisor::OnExited(const std::string& submission_id, int wait_status) {
  auto it = jobs_.find(submission_id);
  if (it == jobs_.end()) return;
  Job& job = *it->second;
  if (job.watcher.joinable()) job.watcher.join();  // it posted this as its last act
  if (job.kill_timer) job.kill_timer->cancel();
  rpc::JobSubmission& record = job.record;
  record.set_end_time_ms(NowMs());
  if (WIFEXITED(wait_status)) {
    record.set_has_exit_code(true);
    record.set_exit_code(WEXITSTATUS(wait_status));
  }
  if (job.stop_requested) {
    record.set_state(State::STOPPED);
    record.set_message("stopped by `orrery job stop` (its driver " + DescribeWaitStatus(wait_status) + ")");
  } else if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) {
    record.set_state(State::SUCCEEDED);
    record.set_message("its driver exited with code 0");
  } else {
    record.set_state(State::FAILED);
    record.set_message("its driver " + DescribeWaitStatus(wait_status));
  }
  spdlog::info("job '{}' {}: {}", submission_id, StateName(record.state()), record.message());
  AfterEnd(job);
}

void JobSupervisor::AfterEnd(Job& job) {
  rpc::JobSubmission& record = job.record;
  // A driver that did not shut down cleanly leaves its job running until its raylet notices;
  // ending it here frees its workers, actors and resources at once.
  if (!record.job_id().empty()) {
    if (auto job_id = JobId::FromBinary(record.job_id()); job_id.ok()) {
      finish_job_(*job_id, "its submitted driver ended (" + StateName(record.state()) + ")");
    }
  }
  for (StopWaiter& waiter : job.stoppers) {
    *waiter.reply->mutable_job() = record;
    waiter.done(absl::OkStatus());
  }
  job.stoppers.clear();
  WakeReaders(job);
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
    job->stop_requested = true;
    EndUnstarted(*job, State::STOPPED, "stopped by `orrery job stop` before its driver started");
    *reply->mutable_job() = job->record;
    return done(absl::OkStatus());
  }
  job->stoppers.push_back({reply, std::move(done)});
  if (job->stop_requested) return;  // a stop is under way; this caller waits for it too
  job->stop_requested = true;
  pid_t group = job->record.driver_pid();
  spdlog::info("job '{}': stopping its driver (pid {})", request.submission_id(), group);
  kill(-group, SIGTERM);
  int64_t grace = request.grace_ms() > 0 ? request.grace_ms() : kDefaultStopGraceMs;
  job->kill_timer = std::make_unique<boost::asio::steady_timer>(io_, std::chrono::milliseconds(grace));
  job->kill_timer->async_wait([group](const boost::system::error_code& error) {
    if (!error) kill(-group, SIGKILL);  // the driver's group is only ever reaped by its watcher
  });
}

void JobSupervisor::HandleDeleteJob(const rpc::DeleteJobRequest& request, rpc::DeleteJobReply*, ReplyCallback done) {
  absl::Status not_found;
  Job* job = Find(request.submission_id(), &not_found);
  if (job == nullptr) return done(not_found);
  if (!Ended(*job)) {
    return done(absl::FailedPreconditionError("job '" + request.submission_id() + "' is " +
                                              StateName(job->record.state()) + ": stop it first (`orrery job stop " +
                                              request.submission_id() + "`)"));
  }
  unlink(job->record.log_path().c_str());
  jobs_.erase(request.submission_id());
  done(absl::OkStatus());
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
  const rpc::ReadJobLogsRequest& request = reader->request;
  rpc::ReadLogRequest read;
  read.set_name(std::filesystem::path(job.record.log_path()).filename().string());
  read.set_offset(request.offset());
  read.set_max_bytes(request.max_bytes());
  // No log yet (the job is PENDING): nothing to read so far.
  auto piece = ReadLogFile(SessionDir(options_.session_dir).LogsDir(), read);
  std::string data = piece.ok() ? std::move(*piece->mutable_data()) : "";
  int64_t size = piece.ok() ? piece->size() : 0;
  int64_t next = request.offset() + static_cast<int64_t>(data.size());
  bool ended = Ended(job);
  if (data.empty() && !ended && may_wait) {
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
  // A driver that registered after its job ended (it outlived its own process group leader)
  // must not keep a job of the cluster running.
  if (Ended(*job)) finish_job_(*job_id, "its submitted driver had ended");
  done(absl::OkStatus());
}

}  // namespace orrery::gcs
