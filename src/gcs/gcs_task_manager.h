// GcsTaskManager: the cluster's history of task attempts, put together from the events owners
// and workers send (TaskEventService). Each job keeps at most `max_per_job` attempts: the
// oldest are evicted first, and counted, as are the events workers report they dropped, so
// that a reader knows the history is incomplete rather than guessing.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "orrery/task_events.pb.h"
#include "src/metrics/registry.h"
#include "src/rpc/server_calls.h"

namespace orrery::gcs {

// What the task history feeds as task attempts end.
struct TaskMetrics {
  metrics::CounterFamily* ended = nullptr;                 // {function, state}
  metrics::HistogramFamily* run_seconds = nullptr;         // {function}: running to ended
  metrics::HistogramFamily* scheduling_seconds = nullptr;  // {function}: submitted to running
};

// Owned and called by the GCS event loop only.
class GcsTaskManager {
 public:
  explicit GcsTaskManager(size_t max_per_job) : max_per_job_(max_per_job) {}

  void HandleAddTaskEvents(const rpc::AddTaskEventsRequest& request, rpc::AddTaskEventsReply* reply,
                           rpc::ReplyCallback done);
  void HandleGetTaskEvents(const rpc::GetTaskEventsRequest& request, rpc::GetTaskEventsReply* reply,
                           rpc::ReplyCallback done);

  // Calls fn(const rpc::TaskAttempt&) for each attempt kept (metrics).
  template <typename Fn>
  void ForEachAttempt(Fn&& fn) const {
    for (const auto& [job_id, job] : jobs_) {
      for (const auto& [key, kept] : job.attempts) fn(kept.attempt);
    }
  }
  // Attempts that end, and their times, are counted there from now on (null: not counted).
  void set_metrics(const TaskMetrics* metrics) { metrics_ = metrics; }

 private:
  // (task id, attempt)
  using AttemptKey = std::pair<std::string, int32_t>;
  struct Kept {
    uint64_t order;  // when its first event arrived, across all jobs
    rpc::TaskAttempt attempt;
  };
  struct JobHistory {
    absl::flat_hash_map<AttemptKey, Kept> attempts;
    std::deque<AttemptKey> oldest_first;
    int64_t dropped_by_workers = 0;
    int64_t evicted = 0;
  };

  void Add(const rpc::TaskEvent& event);
  // GetTaskEvents' counts_only: the job's tasks by the state of their latest attempt.
  static void CountTasksByState(const JobHistory& job, rpc::JobTaskEventCounts* counts);

  // What Count compares of an attempt before an event and after it (not the whole attempt: a
  // copy of it per event would cost more than the counting).
  struct CountedParts {
    bool named;
    rpc::TaskState state;
    int64_t submitted_us, running_us, ended_us;
    static CountedParts Of(const rpc::TaskAttempt& attempt);
  };
  // Counts what an event changed of the attempt (`before` it) into metrics_.
  void Count(const CountedParts& before, const rpc::TaskAttempt& after) const;

  const size_t max_per_job_;
  const TaskMetrics* metrics_ = nullptr;
  uint64_t next_order_ = 0;
  absl::flat_hash_map<std::string, JobHistory> jobs_;  // by binary job id
};

// Folds one event into the attempt it belongs to: its times, where it ran, and its state (a
// later state wins over an earlier one, whatever order their events arrive in).
void MergeTaskEvent(const rpc::TaskEvent& event, rpc::TaskAttempt& attempt);

}  // namespace orrery::gcs
