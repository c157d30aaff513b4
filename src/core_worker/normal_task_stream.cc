#include "src/core_worker/normal_task_stream.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace orrery::core {

namespace {
// Results are written once the queue is empty, or sooner once this much time has passed.
constexpr auto kMaxResultDelay = std::chrono::milliseconds(2);
}  // namespace

void NormalTaskStream::Serve(Stream& stream, rpc::TaskBatch first, const Execute& execute) {
  NormalTaskStream served(stream, execute);
  {
    absl::MutexLock lock(&served.mu_);
    served.TakeLocked(first);
  }
  std::thread other([&served] { served.Work(); });
  served.Work();
  other.join();
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
    // The other thread reads: wait until what it reads needs this one.
    changed_.Wait(&mu_);
  }
}

void NormalTaskStream::RunLocked() {
  executing_ = true;
  rpc::ResultBatch results;
  auto last_write = std::chrono::steady_clock::now();
  while (!unstarted_.empty() && !broken_) {
    rpc::TaskSpec task = std::move(unstarted_.front());
    unstarted_.pop_front();
    mu_.Unlock();
    *results.add_results() = execute_(task);
    mu_.Lock();
    auto now = std::chrono::steady_clock::now();
    if (unstarted_.empty() || now - last_write > kMaxResultDelay) {
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
  for (rpc::TaskSpec& task : *batch.mutable_tasks()) unstarted_.push_back(std::move(task));
  if (batch.steal() > 0) {
    // The newest tasks go back: the oldest run here first, as they would have.
    auto take = static_cast<std::ptrdiff_t>(std::min<size_t>(batch.steal(), unstarted_.size()));
    rpc::ResultBatch reply;
    rpc::StolenTasks* stolen = reply.mutable_stolen();
    for (auto it = unstarted_.end() - take; it != unstarted_.end(); ++it) stolen->add_task_ids(it->task_id());
    unstarted_.erase(unstarted_.end() - take, unstarted_.end());
    WriteUnlocked(reply);
  }
  // This thread runs what came; the other one takes over reading.
  if (!executing_ && !unstarted_.empty()) changed_.Signal();
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
