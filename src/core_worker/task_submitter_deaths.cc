// TaskSubmitter: what becomes of the tasks in flight on a worker that died. Why it died (the
// WORKER_DEATH feed) decides: after an OOM kill a retry waits out a back-off; after any other
// death it goes at once; with the retries spent the task fails with the error the death calls
// for.
#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "src/common/clock.h"
#include "src/core_worker/retry_policy.h"
#include "src/core_worker/task_errors.h"
#include "src/core_worker/task_submitter.h"

namespace orrery::core {

namespace {

// How long the retry after a task's `kills`-th OOM kill waits: 1 s, doubling, at most 60 s.
int64_t OomRetryDelayMs(int kills) {
  int64_t delay = 1000;
  for (int i = 1; i < kills && delay < 60'000; ++i) delay *= 2;
  return std::min<int64_t>(delay, 60'000);
}

}  // namespace

void TaskSubmitter::OnStreamDone(const std::shared_ptr<LeasedWorker>& worker, const SchedulingKey& scheduling,
                                 const grpc::Status& status) {
  std::vector<std::pair<rpc::TaskSpec, rpc::ErrorInfo>> failed;
  bool still_leased = false;
  {
    absl::MutexLock lock(&mu_);
    worker->dead = true;
    Key& key = KeyLocked(scheduling);
    auto it = std::find(key.workers.begin(), key.workers.end(), worker);
    still_leased = it != key.workers.end();
    if (still_leased) key.workers.erase(it);
    auto id = WorkerId::FromBinary(worker->address.worker_id());
    auto note = id.ok() ? death_notes_.find(*id) : death_notes_.end();
    if (note != death_notes_.end()) {
      ResolveLostLocked(*worker, key, note->second, failed);
    } else if (id.ok() && !worker->in_flight.empty() && !stopped_) {
      // Why it died decides how its tasks go on (an OOM kill backs off), and the WORKER_DEATH
      // feed says why a few milliseconds after the stream broke: they wait for it, a while.
      awaiting_notice_[*id] =
          LostWorker{worker, scheduling, status.error_message(), MonotonicMs() + options_.death_notice_wait_ms};
    } else {
      ResolveLostLocked(*worker, key, DeathNote{rpc::UNEXPECTED_EXIT, status.error_message()}, failed);
    }
    // The stream of a worker returned after its shape was forgotten ends here too: it must not
    // leave the key it looked up behind.
    ForgetIfUnusedLocked(scheduling);
  }
  for (auto& [task, error] : failed) callbacks_.on_failed(task, error);
  // A stream that broke: the worker is dead or unusable, and its lease goes back.
  if (!status.ok() && still_leased) ReturnLease(worker, /*kill=*/true);
}

void TaskSubmitter::ResolveLostLocked(LeasedWorker& worker, Key& key, const DeathNote& death,
                                      std::vector<std::pair<rpc::TaskSpec, rpc::ErrorInfo>>& failed) {
  const bool oom = death.exit_type == rpc::OUT_OF_MEMORY;
  std::vector<Pending> retry;
  for (auto& [task_id, pending] : worker.in_flight) {
    int attempt = pending.task.attempt() + 1;
    if (!stopped_ && WithinRetries(attempt, RetryBudget(pending.task, options_.max_system_retries))) {
      if (callbacks_.on_retried) {
        callbacks_.on_retried(pending.task, oom ? OutOfMemoryError(pending.task, death.detail)
                                                : CrashError(absl::StrCat("its worker died: ", death.detail)));
      }
      pending.task.set_attempt(attempt);
      if (oom) {
        // The memory may still be short: the retry waits, longer each time.
        int64_t due = MonotonicMs() + OomRetryDelayMs(++pending.oom_kills);
        delayed_.push_back(DelayedRetry{key.scheduling, std::move(pending), due});
      } else {
        retry.push_back(std::move(pending));
      }
    } else {
      FinishLocked(pending);
      rpc::ErrorInfo error;
      if (stopped_) {
        error = CrashError("Orrery is shutting down");
      } else if (oom) {
        error = OutOfMemoryError(pending.task,
                                 absl::StrCat("the task was tried ", attempt, " times; last: ", death.detail));
      } else {
        error = CrashError(absl::StrCat("the worker running ", pending.task.function_name(),
                                        " died and the task was tried ", attempt, " times; last: ", death.detail));
      }
      failed.emplace_back(std::move(pending.task), std::move(error));
    }
  }
  worker.in_flight.clear();
  // The worker was ended because its placement group was removed: no retry can run.
  if (std::optional<PlacementGroupId> removed = RemovedGroupLocked(key.scheduling.resources); removed.has_value()) {
    for (auto& pending : retry) {
      FinishLocked(pending);
      failed.emplace_back(std::move(pending.task), RemovedGroupError(*removed));
    }
    retry.clear();
  }
  RequeueLocked(key, std::move(retry));
  if (!stopped_) DispatchLocked(key);
}

void TaskSubmitter::OnDueLocked(std::vector<std::pair<rpc::TaskSpec, rpc::ErrorInfo>>& failed) {
  int64_t now = MonotonicMs();
  std::vector<WorkerId> unexplained;
  for (const auto& [id, lost] : awaiting_notice_) {
    if (lost.deadline_ms <= now) unexplained.push_back(id);
  }
  for (const WorkerId& id : unexplained) {
    LostWorker lost = std::move(awaiting_notice_.at(id));
    awaiting_notice_.erase(id);
    ResolveLostLocked(*lost.worker, KeyLocked(lost.scheduling), DeathNote{rpc::UNEXPECTED_EXIT, lost.stream_error},
                      failed);
  }
  std::map<SchedulingKey, std::vector<Pending>> due;
  for (auto it = delayed_.begin(); it != delayed_.end();) {
    if (it->due_ms > now) {
      ++it;
      continue;
    }
    due[it->scheduling].push_back(std::move(it->pending));
    it = delayed_.erase(it);
  }
  for (auto& [scheduling, retry] : due) {
    Key& key = KeyLocked(scheduling);
    RequeueLocked(key, std::move(retry));
    DispatchLocked(key);
  }
}

void TaskSubmitter::NoteWorkerDeath(const WorkerId& worker, rpc::ExitType exit_type, const std::string& detail) {
  std::vector<std::pair<rpc::TaskSpec, rpc::ErrorInfo>> failed;
  {
    absl::MutexLock lock(&mu_);
    DeathNote note{exit_type, detail};
    auto lost = awaiting_notice_.find(worker);
    if (lost != awaiting_notice_.end()) {
      LostWorker waiting = std::move(lost->second);
      awaiting_notice_.erase(lost);
      ResolveLostLocked(*waiting.worker, KeyLocked(waiting.scheduling), note, failed);
    }
    // The feed reports every worker of the cluster; a note is needed only for the moments until
    // that worker's stream breaks, so the oldest go.
    if (death_notes_.insert_or_assign(worker, std::move(note)).second) death_order_.push_back(worker);
    while (death_order_.size() > static_cast<size_t>(std::max(1, options_.max_death_notes))) {
      death_notes_.erase(death_order_.front());
      death_order_.pop_front();
    }
  }
  for (auto& [task, error] : failed) callbacks_.on_failed(task, error);
}

}  // namespace orrery::core
