#include "src/core_worker/lineage_table.h"

#include "absl/strings/str_cat.h"
#include "src/core_worker/retry_policy.h"

namespace orrery::core {

namespace {

std::string TaskName(const rpc::TaskSpec& task) {
  std::string name = task.name().empty() ? task.function_name() : task.name() + " (" + task.function_name() + ")";
  return absl::StrCat(name, ", task ", TaskId::FromOptionalBinary(task.task_id()).value_or(TaskId()).Hex());
}

rpc::ErrorInfo LostError(rpc::ErrorInfo::Type type, const ObjectId& result, const rpc::WorkerAddress& owner,
                         const std::string& why_lost, const std::string& why_not) {
  rpc::ErrorInfo error;
  error.set_type(type);
  error.set_worker_id(owner.worker_id());
  error.set_node_id(owner.node_id());
  error.set_message(absl::StrCat("object ", result.Hex(), " (owner: worker ",
                                 WorkerId::FromOptionalBinary(owner.worker_id()).value_or(WorkerId()).Hex(),
                                 ") was lost (", why_lost, ") and cannot be made again: ", why_not));
  return error;
}

}  // namespace

std::vector<ObjectId> LineageTable::Record(const ObjectId& result, const rpc::TaskSpec& task,
                                           const ResourceSet& resources) {
  absl::MutexLock lock(&mu_);
  Entry& entry = entries_[result];
  entry.rerunning = false;
  if (entry.task.has_value()) {
    // A re-run's result: its attempt number counts for the next one.
    entry.task->set_attempt(task.attempt());
    return {};
  }
  if (entry.evicted) return {};  // evicted before this re-run ended: it stays evicted
  entry.task = task;
  entry.resources = resources;
  entry.bytes = static_cast<int64_t>(task.ByteSizeLong());
  entry.age = age_.insert(age_.end(), result);
  bytes_ += entry.bytes;
  std::vector<ObjectId> evicted;
  while (bytes_ > max_bytes_ && !age_.empty()) {
    ObjectId oldest = age_.front();
    EvictLocked(entries_.at(oldest));
    evicted.push_back(oldest);
  }
  return evicted;
}

void LineageTable::EvictLocked(Entry& entry) {
  bytes_ -= entry.bytes;
  entry.task.reset();
  entry.evicted = true;
  age_.erase(entry.age);
}

void LineageTable::Forget(const ObjectId& result) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(result);
  if (it == entries_.end()) return;
  if (it->second.task.has_value()) EvictLocked(it->second);
  entries_.erase(it);
}

LineageTable::Rebuild LineageTable::StartRebuild(const ObjectId& result, const rpc::WorkerAddress& owner,
                                                 const std::string& why_lost) {
  Rebuild rebuild;
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(result);
  if (it == entries_.end()) {
    rebuild.error = LostError(rpc::ErrorInfo::OBJECT_LOST, result, owner, why_lost,
                              "it was stored by Put, and only a task's result can be made again by re-running "
                              "the task");
    return rebuild;
  }
  Entry& entry = it->second;
  if (entry.rerunning) {
    rebuild.action = Rebuild::Action::kInProgress;
    return rebuild;
  }
  if (!entry.task.has_value()) {
    rebuild.error = LostError(rpc::ErrorInfo::OBJECT_RECONSTRUCTION_FAILED_LINEAGE_EVICTED, result, owner, why_lost,
                              "its lineage (the task that made it) was evicted to keep the owner's lineage within "
                              "max_lineage_bytes");
    return rebuild;
  }
  int next = entry.task->attempt() + 1;
  int budget = RetryBudget(*entry.task, default_retries_);
  if (!WithinRetries(next, budget)) {
    rebuild.error = LostError(rpc::ErrorInfo::OBJECT_RECONSTRUCTION_FAILED_MAX_ATTEMPTS, result, owner, why_lost,
                              absl::StrCat(TaskName(*entry.task), " that made it was tried ", next,
                                           " times, as often as its max_retries (", budget, ") allows"));
    rebuild.error.set_function(entry.task->function_name());
    return rebuild;
  }
  entry.task->set_attempt(next);
  entry.rerunning = true;
  ++rebuilds_;
  rebuild.action = Rebuild::Action::kRerun;
  rebuild.task = *entry.task;
  rebuild.resources = entry.resources;
  return rebuild;
}

void LineageTable::EndRebuild(const ObjectId& result) {
  absl::MutexLock lock(&mu_);
  if (auto it = entries_.find(result); it != entries_.end()) it->second.rerunning = false;
}

int64_t LineageTable::bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

size_t LineageTable::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

int64_t LineageTable::rebuilds() const {
  absl::MutexLock lock(&mu_);
  return rebuilds_;
}

}  // namespace orrery::core
