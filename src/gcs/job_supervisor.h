// JobSupervisor: runs the jobs submitted with `orrery job submit` on the head. Each job's
// entrypoint runs as a driver process of its own (argv, never a shell, in its own process
// group), told the cluster's address and token so that its Init() joins this cluster, in the
// job's unpacked working_dir when it has one.
//
// Drivers outlive the GCS: each is the child of an orrery-job-runner, not of the GCS, and
// writes its stdout and stderr straight into <session>/logs/job-<id>.log. The runner writes how
// the driver ended to a file. Each job's record is in the GCS storage, so a restarted GCS
// adopts the drivers still running (it waits for their runners through pidfds) and reports
// their status, logs and exit codes as if nothing happened. Readers following a log are woken
// by inotify as output arrives, not by polling. A record stays until the job is deleted.
#pragma once

#include <sys/types.h>

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/posix/stream_descriptor.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/thread_pool.hpp"
#include "orrery/job_submission.pb.h"
#include "orrery/log_service.pb.h"
#include "src/common/id.h"
#include "src/common/working_dirs.h"
#include "src/gcs/gcs_table_storage.h"
#include "src/rpc/server_calls.h"

namespace orrery::gcs {

using rpc::ReplyCallback;

// Owned and called by the GCS event loop only.
class JobSupervisor {
 public:
  struct Options {
    std::string session_dir;   // logs in <session>/logs; empty: jobs cannot be submitted
    std::function<std::string()> gcs_address;  // HOST:PORT drivers join (known once serving)
    std::string token;
    std::string temp_root;     // drivers prefer the raylets of this root (this head's)
  };
  // Ends the cluster job a driver registered (its workers and actors), when the driver ends.
  using FinishJob = std::function<void(const JobId& job, const std::string& why)>;

  JobSupervisor(boost::asio::io_context& io, StoreClient& store, Options options, WorkingDirs::Fetch fetch,
                FinishJob finish_job);
  // Running drivers go on (as after a crash), for a later supervisor on the storage to adopt:
  // Stop() is what ends them.
  ~JobSupervisor() = default;

  // Restores the records of an earlier GCS: running drivers are adopted, and drivers that
  // ended meanwhile are reported from what their runners recorded.
  void Load(std::function<void(absl::Status)> done);
  // Starts the jobs an earlier GCS accepted but had not started (once this GCS serves, so that
  // their drivers can join it).
  void StartRestoredPending();
  size_t num_submissions() const { return jobs_.size(); }
  // Calls fn(package) for the working_dir package of each submitted job that has not ended.
  template <typename Fn>
  void ForEachPackageInUse(Fn&& fn) const {
    for (const auto& [id, job] : jobs_) {
      if (!Ended(*job) && !job->record.working_dir_package().empty()) fn(job->record.working_dir_package());
    }
  }

  void HandleSubmitJob(const rpc::SubmitJobRequest& request, rpc::SubmitJobReply* reply, ReplyCallback done);
  void HandleGetJobSubmission(const rpc::GetJobSubmissionRequest& request, rpc::GetJobSubmissionReply* reply,
                              ReplyCallback done);
  void HandleListJobSubmissions(const rpc::ListJobSubmissionsRequest& request, rpc::ListJobSubmissionsReply* reply,
                                ReplyCallback done);
  // Answers once the driver has exited: SIGTERM to its process group, SIGKILL after the grace.
  void HandleStopJob(const rpc::StopJobRequest& request, rpc::StopJobReply* reply, ReplyCallback done);
  void HandleDeleteJob(const rpc::DeleteJobRequest& request, rpc::DeleteJobReply* reply, ReplyCallback done);
  void HandleReadJobLogs(const rpc::ReadJobLogsRequest& request, rpc::ReadJobLogsReply* reply, ReplyCallback done);
  void HandleReportJobDriver(const rpc::ReportJobDriverRequest& request, rpc::ReportJobDriverReply* reply,
                             ReplyCallback done);

  // The GCS is stopping for good: every running driver is killed with its process group.
  void Stop();

 private:
  struct LogReader {
    rpc::ReadJobLogsRequest request;
    rpc::ReadJobLogsReply* reply;
    ReplyCallback done;
    std::unique_ptr<boost::asio::steady_timer> timer;  // its wait_ms, once it waits
    bool answered = false;
  };
  struct StopWaiter {
    rpc::StopJobReply* reply;
    ReplyCallback done;
  };
  struct Job {
    rpc::JobSubmission record;
    std::unique_ptr<boost::asio::steady_timer> kill_timer;
    // The runner's pidfd, readable once it has exited; whether this GCS started it (and so
    // reaps it) or adopted it.
    std::unique_ptr<boost::asio::posix::stream_descriptor> runner;
    bool runner_is_child = false;
    int log_watch = -1;  // inotify watch of its log while it runs
    std::vector<std::shared_ptr<LogReader>> readers;
    // Counts the output events seen, so that a read under way when one came reads again.
    uint64_t outputs = 0;
    std::vector<StopWaiter> stoppers;
  };

  Job* Find(const std::string& submission_id, absl::Status* not_found);
  // Starts the job's driver once its working_dir is unpacked.
  void Start(const std::string& submission_id);
  void Launch(const std::string& submission_id, const std::string& cwd);
  // A running driver whose runner an earlier GCS started.
  void Adopt(Job& job);
  void WatchRunner(Job& job, int pidfd, bool is_child);
  // SIGTERM to the driver's process group now, SIGKILL after `grace_ms`.
  void Terminate(Job& job, int64_t grace_ms);
  // Ends a job that never ran (or was stopped before it ran), its reason written to its log.
  void EndUnstarted(Job& job, rpc::JobSubmission::State state, const std::string& message);
  void OnOutput(const std::string& submission_id);
  void OnRunnerExited(const std::string& submission_id);
  void OnExited(Job& job, int wait_status);
  void AfterEnd(Job& job);
  // A submitted job using `package` ended: the head's copy is deleted unless another uses it.
  void ReleaseWorkingDir(const std::string& package);
  // Stores the job's record; `done` (if any) once it is stored.
  void Persist(const Job& job, std::function<void(absl::Status)> done = nullptr);
  // <session>/job_exits: each runner's record of how its driver ended.
  std::string ExitsDir() const;
  void WatchLog(Job& job);
  void UnwatchLog(Job& job);
  void ReadLogEvents();
  // Reads the log past `reader`'s offset off the loop, then Answer()s on it.
  void Read(Job& job, const std::shared_ptr<LogReader>& reader, bool may_wait);
  // Answers `reader` if there is output past its offset, the job has ended, or it may not wait;
  // else keeps it waiting (until its wait_ms at most). `outputs`: the job's count when read.
  void Answer(Job& job, const std::shared_ptr<LogReader>& reader, bool may_wait, uint64_t outputs,
              absl::StatusOr<rpc::ReadLogReply> piece);
  void WakeReaders(Job& job);
  static bool Ended(const Job& job);

  boost::asio::io_context& io_;
  GcsTable<rpc::JobSubmission> table_;
  const Options options_;
  const FinishJob finish_job_;
  const std::string runner_path_;
  absl::flat_hash_map<std::string, std::unique_ptr<Job>> jobs_;
  std::vector<std::string> restored_pending_;
  // One inotify instance for the logs of running jobs: watch descriptor -> submission id.
  std::unique_ptr<boost::asio::posix::stream_descriptor> inotify_;
  absl::flat_hash_map<int, std::string> watched_logs_;
  std::array<char, 4096> inotify_buffer_;
  bool stopped_ = false;
  // Destroyed (joined) before the members above.
  WorkingDirs working_dirs_;
  // Reads of the job logs, off the loop (one at a time). Last: destroyed (joined) first, while
  // what its reads post back to still exists.
  boost::asio::thread_pool log_reads_{1};
};

}  // namespace orrery::gcs
