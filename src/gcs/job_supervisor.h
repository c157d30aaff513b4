// JobSupervisor: runs the jobs submitted with `orrery job submit` on the head. Each job's
// entrypoint runs as a driver process of its own (argv, never a shell, in its own process
// group), told the cluster's address and token so that its Init() joins this cluster, in the
// job's unpacked working_dir when it has one. The driver's stdout and stderr come through a
// pipe into <session>/logs/job-<id>.log, so readers following the log are woken as output
// arrives, not by polling. A record of each job stays until it is deleted.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/steady_timer.hpp"
#include "orrery/job_submission.pb.h"
#include "src/common/id.h"
#include "src/common/working_dirs.h"
#include "src/rpc/server_calls.h"

namespace orrery::gcs {

using rpc::ReplyCallback;

// Owned and called by the GCS event loop only: drivers are started from its thread, which lives
// as long as the GCS, so that they die with the GCS (PR_SET_PDEATHSIG).
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

  JobSupervisor(boost::asio::io_context& io, Options options, WorkingDirs::Fetch fetch, FinishJob finish_job);
  // Kills drivers still running and waits for their watchers.
  ~JobSupervisor();

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

  // The GCS is stopping: every running driver is killed with its process group.
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
    bool stop_requested = false;
    std::unique_ptr<boost::asio::steady_timer> kill_timer;
    // Reads the driver's output into the log and reaps it; posts what it saw to the loop.
    std::thread watcher;
    std::vector<std::shared_ptr<LogReader>> readers;
    std::vector<StopWaiter> stoppers;
  };

  Job* Find(const std::string& submission_id, absl::Status* not_found);
  void Launch(const std::string& submission_id, const std::string& cwd);
  // Ends a job that never ran (or was stopped before it ran), its reason written to its log.
  void EndUnstarted(Job& job, rpc::JobSubmission::State state, const std::string& message);
  void OnOutput(const std::string& submission_id);
  void OnExited(const std::string& submission_id, int wait_status);
  void AfterEnd(Job& job);
  // Answers `reader` if there is output past its offset, the job has ended, or it may not wait;
  // else keeps it waiting (until its wait_ms at most).
  void Read(Job& job, const std::shared_ptr<LogReader>& reader, bool may_wait);
  void WakeReaders(Job& job);
  static bool Ended(const Job& job);

  boost::asio::io_context& io_;
  const Options options_;
  const FinishJob finish_job_;
  absl::flat_hash_map<std::string, std::unique_ptr<Job>> jobs_;
  bool stopped_ = false;
  // Last: destroyed (joined) first.
  WorkingDirs working_dirs_;
};

}  // namespace orrery::gcs
