#include "src/core_worker/normal_task_stream.h"

#include <algorithm>
#include <chrono>
#include <system_error>
#include <thread>

#include "src/common/log.h"

namespace orrery::core {

namespace {
// How soon the idle thread looks again whether it must take over reading (the other one runs a
// task). Checking costs a few hundred cheap wake-ups a second; waking it for every task instead
// would cost one on every task's path (a fifth of a Get(Task(f).Remote()) loop's rate).
constexpr absl::Duration kTakeOverCheck = absl::Milliseconds(5);

// The stream whose task this thread runs, if any.
thread_local NormalTaskStream* running_here = nullptr;
}  // namespace

void NormalTaskStream::RunningTaskBlocked(bool blocked) {
  if (running_here != nullptr) running_here->SetBlocked(blocked);
}

void NormalTaskStream::SetBlocked(bool blocked) {
  absl::MutexLock lock(&mu_);
  if (blocked_ == blocked || broken_) return;
  blocked_ = blocked;
  rpc::ResultBatch notice;
  notice.set_running(blocked ? rpc::ResultBatch::RUNNING_BLOCKED : rpc::ResultBatch::RUNNING_UNBLOCKED);
  if (blocked) GiveBackLocked(unstarted_.size(), notice);
  WriteUnlocked(notice);
}

void NormalTaskStream::Serve(Stream& stream, rpc::TaskBatch first, const Execute& execute) {
  NormalTaskStream served(stream, execute);
  {
    absl::MutexLock lock(&served.mu_);
    served.TakeLocked(first);
  }
  std::thread other;
  try {
    other = std::thread([&served] { served.Work(); });
  } catch (const std::system_error& e) {
    // Out of threads: one serves alone (it reads only between tasks, so no steal is answered
    // while a task runs, and the owner's tasks still all run once).
    spdlog::warn("serving a task stream on one thread: {}", e.what());
  }
  served.Work();
  if (other.joinable()) other.join();
}

void NormalTaskStream::Work() {
  absl::MutexLock lock(&mu_);
  while (!broken_) {
    if (!executing_ && !unstarted_.empty()) {
      RunLocked();
      continue;
    }
    if (!reading_ && !closed_) {
      ReadLocked();
      continue;
    }
    // Nothing left for this thread: the other one runs what is queued before it ends.
    if (closed_ && (executing_ || unstarted_.empty())) break;
    // The other thread reads, or runs what it read while nobody reads.
    changed_.WaitWithTimeout(&mu_, kTakeOverCheck);
  }
}

void NormalTaskStream::RunLocked() {
  executing_ = true;
  rpc::ResultBatch results;
  auto last_write = std::chrono::steady_clock::now();
  while (!unstarted_.empty() && !broken_) {
    Queued next = std::move(unstarted_.front());
    unstarted_.pop_front();
    mu_.Unlock();
    running_here = this;
    *results.add_results() = execute_(next.task);
    running_here = nullptr;
    mu_.Lock();
    if (blocked_) {
      // It ended while waiting (a Get from which it never returned normally): the owner may
      // send this worker tasks again.
      blocked_ = false;
      results.set_running(rpc::ResultBatch::RUNNING_UNBLOCKED);
    }
    auto now = std::chrono::steady_clock::now();
    if (next.ends_batch || unstarted_.empty() || now - last_write > kMaxResultDelay) {
      WriteUnlocked(results);
      results.Clear();
      last_write = now;
    }
  }
  executing_ = false;
}

void NormalTaskStream::ReadLocked() {
  reading_ = true;
  rpc::TaskBatch batch;
  mu_.Unlock();
  bool ok = stream_.Read(&batch);
  mu_.Lock();
  reading_ = false;
  if (!ok) {
    closed_ = true;
    changed_.SignalAll();
    return;
  }
  TakeLocked(batch);
}

void NormalTaskStream::TakeLocked(rpc::TaskBatch& batch) {
  for (rpc::TaskSpec& task : *batch.mutable_tasks()) unstarted_.push_back(Queued{std::move(task), false});
  if (batch.tasks_size() > 0) unstarted_.back().ends_batch = true;
  // Sent before the owner heard that the running task waits: they go back too.
  size_t give_back = blocked_ ? unstarted_.size() : std::min<size_t>(std::max(batch.steal(), 0), unstarted_.size());
  if (give_back > 0 || batch.steal() > 0) {
    rpc::ResultBatch reply;
    GiveBackLocked(give_back, reply);
    WriteUnlocked(reply);
  }
}

void NormalTaskStream::GiveBackLocked(size_t count, rpc::ResultBatch& reply) {
  // The newest tasks go back: the oldest run here first, as they would have.
  auto take = static_cast<std::ptrdiff_t>(std::min(count, unstarted_.size()));
  rpc::StolenTasks* stolen = reply.mutable_stolen();
  for (auto it = unstarted_.end() - take; it != unstarted_.end(); ++it) stolen->add_task_ids(it->task.task_id());
  unstarted_.erase(unstarted_.end() - take, unstarted_.end());
  if (!unstarted_.empty()) unstarted_.back().ends_batch = true;
}

void NormalTaskStream::WriteUnlocked(const rpc::ResultBatch& results) {
  mu_.Unlock();
  bool ok;
  {
    absl::MutexLock lock(&write_mu_);
    ok = stream_.Write(results);
  }
  mu_.Lock();
  if (!ok) {
    broken_ = true;
    changed_.SignalAll();
  }
}

}  // namespace orrery::core
