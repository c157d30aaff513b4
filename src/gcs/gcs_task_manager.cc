#include "src/gcs/gcs_task_manager.h"

#include <algorithm>
#include <array>
#include <vector>

namespace orrery::gcs {

void MergeTaskEvent(const rpc::TaskEvent& event, rpc::TaskAttempt& attempt) {
  if (attempt.task_id().empty()) {
    attempt.set_task_id(event.task_id());
    attempt.set_attempt(event.attempt());
    attempt.set_job_id(event.job_id());
    attempt.set_state(event.state());
  }
  if (!event.function_name().empty()) {
    attempt.set_kind(event.kind());
    attempt.set_function_name(event.function_name());
    attempt.set_name(event.name());
    attempt.set_actor_id(event.actor_id());
  }
  if (!event.node_id().empty()) attempt.set_node_id(event.node_id());
  if (!event.worker_id().empty()) attempt.set_worker_id(event.worker_id());
  switch (event.state()) {
    case rpc::SUBMITTED:
      attempt.set_submitted_us(event.time_us());
      break;
    case rpc::SCHEDULED:
      attempt.set_scheduled_us(event.time_us());
      break;
    case rpc::RUNNING:
      attempt.set_running_us(event.time_us());
      break;
    case rpc::FINISHED:
    case rpc::FAILED:
      // The worker's end and its owner's (when the result arrived) both come: the first is it.
      if (attempt.ended_us() == 0 || event.time_us() < attempt.ended_us()) attempt.set_ended_us(event.time_us());
      break;
    default:
      break;
  }
  if (event.state() == rpc::FAILED) {
    attempt.set_error_type(event.error_type());
    attempt.set_error_message(event.error_message());
  }
  if (event.state() >= attempt.state()) attempt.set_state(event.state());
}

void GcsTaskManager::HandleAddTaskEvents(const rpc::AddTaskEventsRequest& request, rpc::AddTaskEventsReply*,
                                         rpc::ReplyCallback done) {
  if (request.dropped() > 0) jobs_[request.job_id()].dropped_by_workers += request.dropped();
  for (const rpc::TaskEvent& event : request.events()) Add(event);
  done(absl::OkStatus());
}

void GcsTaskManager::Add(const rpc::TaskEvent& event) {
  if (event.task_id().empty()) return;
  JobHistory& job = jobs_[event.job_id()];
  AttemptKey key{event.task_id(), event.attempt()};
  auto [it, added] = job.attempts.try_emplace(key);
  if (added) {
    it->second.order = next_order_++;
    job.oldest_first.push_back(key);
  }
  if (metrics_ == nullptr) {
    MergeTaskEvent(event, it->second.attempt);
  } else {
    const CountedParts before = CountedParts::Of(it->second.attempt);
    MergeTaskEvent(event, it->second.attempt);
    Count(before, it->second.attempt);
  }
  while (job.attempts.size() > max_per_job_ && !job.oldest_first.empty()) {
    job.attempts.erase(job.oldest_first.front());
    job.oldest_first.pop_front();
    ++job.evicted;
  }
}

GcsTaskManager::CountedParts GcsTaskManager::CountedParts::Of(const rpc::TaskAttempt& attempt) {
  return {!attempt.function_name().empty(), attempt.state(), attempt.submitted_us(), attempt.running_us(),
          attempt.ended_us()};
}

void GcsTaskManager::Count(const CountedParts& before, const rpc::TaskAttempt& after) const {
  // Events come in any order (a worker's end may come before its owner's submission, which
  // names the function): each is counted once, as soon as everything it needs is known.
  const std::vector<std::string> function{after.function_name()};
  auto ended = [](bool named, rpc::TaskState state) {
    return named && (state == rpc::FINISHED || state == rpc::FAILED);
  };
  if (ended(!function[0].empty(), after.state()) && !ended(before.named, before.state)) {
    metrics_->ended->With({function[0], rpc::TaskState_Name(after.state())}).Inc();
  }
  auto newly_known = [&](int64_t from_before, int64_t to_before, int64_t from, int64_t to) {
    bool known_before = before.named && from_before > 0 && to_before > 0;
    return !function[0].empty() && from > 0 && to > 0 && !known_before;
  };
  if (newly_known(before.running_us, before.ended_us, after.running_us(), after.ended_us())) {
    metrics_->run_seconds->With(function).Observe(std::max<int64_t>(0, after.ended_us() - after.running_us()) / 1e6);
  }
  if (newly_known(before.submitted_us, before.running_us, after.submitted_us(), after.running_us())) {
    metrics_->scheduling_seconds->With(function).Observe(
        std::max<int64_t>(0, after.running_us() - after.submitted_us()) / 1e6);
  }
}

void GcsTaskManager::CountTasksByState(const JobHistory& job, rpc::JobTaskEventCounts* counts) {
  // Each task in the state of its latest attempt kept.
  absl::flat_hash_map<std::string, const rpc::TaskAttempt*> latest;
  for (const auto& [key, kept] : job.attempts) {
    const rpc::TaskAttempt*& seen = latest[key.first];
    if (seen == nullptr || kept.attempt.attempt() > seen->attempt()) seen = &kept.attempt;
  }
  std::array<int64_t, rpc::TaskState_ARRAYSIZE> by_state{};
  for (const auto& [task, attempt] : latest) ++by_state[attempt->state()];
  for (int state = 0; state < rpc::TaskState_ARRAYSIZE; ++state) {
    if (by_state[state] == 0) continue;
    rpc::TaskStateCount* count = counts->add_tasks_by_state();
    count->set_state(static_cast<rpc::TaskState>(state));
    count->set_tasks(by_state[state]);
  }
}

void GcsTaskManager::HandleGetTaskEvents(const rpc::GetTaskEventsRequest& request, rpc::GetTaskEventsReply* reply,
                                         rpc::ReplyCallback done) {
  std::vector<const Kept*> matched;
  for (const auto& [job_id, job] : jobs_) {
    if (!request.job_id().empty() && job_id != request.job_id()) continue;
    rpc::JobTaskEventCounts* counts = reply->add_jobs();
    counts->set_job_id(job_id);
    counts->set_attempts(static_cast<int64_t>(job.attempts.size()));
    counts->set_dropped_by_workers(job.dropped_by_workers);
    counts->set_evicted_by_gcs(job.evicted);
    if (request.counts_only()) {
      CountTasksByState(job, counts);
      continue;
    }
    for (const auto& [key, kept] : job.attempts) matched.push_back(&kept);
  }
  std::sort(matched.begin(), matched.end(), [](const Kept* a, const Kept* b) { return a->order < b->order; });
  size_t first = 0;
  if (request.limit() > 0 && matched.size() > static_cast<size_t>(request.limit())) {
    first = matched.size() - static_cast<size_t>(request.limit());  // the newest
    reply->set_truncated(true);
  }
  for (size_t i = first; i < matched.size(); ++i) *reply->add_tasks() = matched[i]->attempt;
  done(absl::OkStatus());
}

}  // namespace orrery::gcs
