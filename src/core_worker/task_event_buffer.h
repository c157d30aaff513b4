// TaskEventBuffer: this process's task events (its submissions as an owner, its executions as
// a worker), sent to the GCS in batches once a period and when the process stops. Recording
// costs a task a lock and a push; sending runs on a thread of its own. A full buffer drops new
// events and counts them, and the count goes to the GCS with the next batch, so that
// `orrery list tasks` can say the history is incomplete.
#pragma once

#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "orrery/core_worker.pb.h"
#include "orrery/task_events.pb.h"
#include "src/common/id.h"

namespace orrery::core {

class TaskEventBuffer {
 public:
  struct Options {
    size_t capacity = 10'000;
    int64_t period_ms = 1000;
    // Off: nothing is recorded or sent (Config::task_events).
    bool enabled = true;
  };
  // Sends one batch (blocking, with its own deadline).
  using Send = std::function<absl::Status(const rpc::AddTaskEventsRequest&)>;

  TaskEventBuffer(JobId job_id, Options options, Send send);
  // Stop().
  ~TaskEventBuffer();

  // Starts the thread that sends a batch every period.
  void Start();
  // Sends what is buffered (a last batch), then ends the thread. Idempotent.
  void Stop();

  // An event of `task` (its ids, and for SUBMITTED its function, name and kind); the time is now.
  void Record(const rpc::TaskSpec& task, rpc::TaskKind kind, rpc::TaskState state);
  // Where it was sent, or where it runs.
  void Record(const rpc::TaskSpec& task, rpc::TaskKind kind, rpc::TaskState state, const std::string& node_id,
              const std::string& worker_id);
  void RecordFailure(const rpc::TaskSpec& task, rpc::TaskKind kind, const rpc::ErrorInfo& error,
                     const std::string& node_id, const std::string& worker_id);

  // Sends what is buffered now (the period's batch).
  void Flush();

 private:
  void Add(rpc::TaskEvent event);

  const JobId job_id_;
  const Options options_;
  const Send send_;
  absl::Mutex mu_;
  std::vector<rpc::TaskEvent> events_ ABSL_GUARDED_BY(mu_);
  int64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Ends the sender's wait between batches. Not a wait on mu_: a thread waiting on a mutex
  // with a condition sends every Unlock of it down the slow path, and recording (four times a
  // task, on the task's own path) then paid for waking it: it halved sync task throughput.
  absl::Notification stop_requested_;
  // One batch in flight at a time.
  absl::Mutex send_mu_;
  std::thread thread_;
};

// An actor's creation, a call of one of its methods, or a function: what `task` is.
rpc::TaskKind KindOf(const rpc::TaskSpec& task, bool is_creation);

// "TASK_ERROR std::runtime_error", "WORKER_CRASHED": the type of a failure for `orrery list`.
std::string ErrorTypeName(const rpc::ErrorInfo& error);

}  // namespace orrery::core
