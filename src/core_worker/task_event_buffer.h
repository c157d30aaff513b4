// TaskEventBuffer: this process's task events (its submissions as an owner, its executions as
// a worker), sent to the GCS in batches once a period and when the process stops. Recording
// costs a task a lock and a push of plain values (ids in place: nothing allocated but a
// submission's names and a failure's message); the protobuf messages are built when a batch is
// sent, on a thread of its own. A full buffer drops new events and counts them, and the count
// goes to the GCS with the next batch, so that `orrery list tasks` can say the history is
// incomplete.
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
  void Record(const rpc::TaskSpec& task, rpc::TaskKind kind, rpc::TaskState state, const NodeId& node,
              const WorkerId& worker);
  // Nil ids: it failed before it reached a worker.
  void RecordFailure(const rpc::TaskSpec& task, rpc::TaskKind kind, const rpc::ErrorInfo& error,
                     const NodeId& node = NodeId::Nil(), const WorkerId& worker = WorkerId::Nil());

  // Sends what is buffered now (the period's batch).
  void Flush();

 private:
  // One event as recorded; rpc::TaskEvent is made of it when sent.
  struct Event {
    TaskId task_id;  // Nil if the spec's was malformed (the runtime makes them: never)
    JobId job_id;
    int32_t attempt = 0;
    rpc::TaskState state = rpc::SUBMITTED;
    rpc::TaskKind kind = rpc::NORMAL_TASK;
    int64_t time_us = 0;
    NodeId node_id;  // Nil: none
    WorkerId worker_id;
    // SUBMITTED: the rest is the same for every event of the task, so sent once.
    std::string function_name;
    std::string name;
    std::string actor_id;
    // FAILED.
    std::string error_type;
    std::string error_message;
  };
  Event EventOf(const rpc::TaskSpec& task, rpc::TaskKind kind, rpc::TaskState state) const;
  static void ToProto(const Event& event, rpc::TaskEvent* out);
  void Add(Event event);

  const JobId job_id_;
  const Options options_;
  const Send send_;
  absl::Mutex mu_;
  std::vector<Event> events_ ABSL_GUARDED_BY(mu_);
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
