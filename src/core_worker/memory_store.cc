#include "src/core_worker/memory_store.h"

#include <algorithm>
#include <thread>

#include "absl/time/clock.h"

namespace orrery::core {

namespace {

// A small task's result comes back within a few hundred microseconds, and waking a sleeping
// thread costs tens of them (on a VM, an inter-processor interrupt to a halted vCPU), so where
// cores are spare a waiter polls for 0.5 ms before it sleeps. Where they are not, the polling
// core is one the reply needs (the worker running the task, this process's thread reading the
// reply): on 2 vCPUs sync tasks ran at 0.6x the bare gRPC echo with the poll and 0.8-1.0x
// without it, their p99 halved (bench/floor_bench.h). So a process polls only on a machine
// with at least 4 CPUs (docs/design/remote-functions.md).
absl::Duration SpinBeforeBlocking() {
  static const absl::Duration spin =
      std::thread::hardware_concurrency() >= 4 ? absl::Microseconds(500) : absl::ZeroDuration();
  return spin;
}

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

std::vector<bool> FirstReady(const std::vector<Value>& values, int num_objects) {
  std::vector<bool> ready(values.size());
  int taken = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    ready[i] = values[i] != nullptr && taken < num_objects;
    taken += ready[i];
  }
  return ready;
}

void MemoryStore::Put(const ObjectId& id, Value value) {
  std::vector<std::pair<uint64_t, Callback>> callbacks;
  {
    absl::MutexLock lock(&mu_);
    values_[id] = value;
    if (auto it = callbacks_.find(id); it != callbacks_.end()) {
      callbacks = std::move(it->second);
      callbacks_.erase(it);
    }
    puts_.fetch_add(1, std::memory_order_release);
  }
  ready_.SignalAll();
  for (auto& [ticket, callback] : callbacks) callback(value);
}

Value MemoryStore::GetIfReady(const ObjectId& id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = values_.find(id);
  return it == values_.end() ? nullptr : it->second;
}

bool MemoryStore::Contains(const ObjectId& id) const {
  absl::ReaderMutexLock lock(&mu_);
  return values_.contains(id);
}

void MemoryStore::Delete(const ObjectId& id) {
  std::vector<std::pair<uint64_t, Callback>> dropped;  // destroyed outside the lock
  absl::MutexLock lock(&mu_);
  values_.erase(id);
  if (auto it = callbacks_.find(id); it != callbacks_.end()) {
    dropped = std::move(it->second);
    callbacks_.erase(it);
  }
}

size_t MemoryStore::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return values_.size();
}

size_t MemoryStore::CountReadyLocked(const std::vector<ObjectId>& ids) const {
  size_t ready = 0;
  for (const ObjectId& id : ids) ready += values_.contains(id);
  return ready;
}

std::vector<Value> MemoryStore::Wait(const std::vector<ObjectId>& ids, size_t num_required, int64_t timeout_ms,
                                     const std::function<void()>& on_block,
                                     const std::function<void()>& on_unblock) {
  absl::Time deadline = timeout_ms < 0 ? absl::InfiniteFuture() : absl::Now() + absl::Milliseconds(timeout_ms);
  bool blocked = false;
  mu_.Lock();
  if (SpinBeforeBlocking() > absl::ZeroDuration() && CountReadyLocked(ids) < num_required &&
      !spinning_.exchange(true, std::memory_order_acquire)) {
    absl::Time spin_until = std::min(deadline, absl::Now() + SpinBeforeBlocking());
    do {
      uint64_t seen = puts_.load(std::memory_order_acquire);
      mu_.Unlock();
      SpinForPut(seen, spin_until);
      mu_.Lock();
    } while (CountReadyLocked(ids) < num_required && absl::Now() < spin_until);
    spinning_.store(false, std::memory_order_release);
  }
  while (CountReadyLocked(ids) < num_required) {
    if (!blocked && on_block) {
      // Telling the raylet is an RPC: never under the lock.
      mu_.Unlock();
      on_block();
      mu_.Lock();
      blocked = true;
      continue;
    }
    blocked = true;
    if (ready_.WaitWithDeadline(&mu_, deadline) && absl::Now() >= deadline) break;
  }
  std::vector<Value> out;
  out.reserve(ids.size());
  for (const ObjectId& id : ids) {
    auto it = values_.find(id);
    out.push_back(it == values_.end() ? nullptr : it->second);
  }
  mu_.Unlock();
  if (blocked && on_block && on_unblock) on_unblock();
  return out;
}

void MemoryStore::SpinForPut(uint64_t seen, absl::Time until) const {
  for (int i = 1;; ++i) {
    if (puts_.load(std::memory_order_acquire) != seen) return;
    if (i % 64 == 0 && absl::Now() >= until) return;  // reading the clock costs more than a poll
    CpuRelax();
  }
}

uint64_t MemoryStore::OnReady(const ObjectId& id, std::function<void(const Value&)> callback) {
  Value value;
  {
    absl::MutexLock lock(&mu_);
    auto it = values_.find(id);
    if (it == values_.end()) {
      callbacks_[id].emplace_back(++last_ticket_, std::move(callback));
      return last_ticket_;
    }
    value = it->second;
  }
  callback(value);
  return 0;
}

void MemoryStore::CancelOnReady(const ObjectId& id, uint64_t ticket) {
  Callback dropped;  // destroyed outside the lock: it may hold the last reference to anything
  absl::MutexLock lock(&mu_);
  auto it = callbacks_.find(id);
  if (it == callbacks_.end()) return;
  auto& waiting = it->second;
  auto found =
      std::find_if(waiting.begin(), waiting.end(), [ticket](const auto& entry) { return entry.first == ticket; });
  if (found == waiting.end()) return;
  dropped = std::move(found->second);
  waiting.erase(found);
  if (waiting.empty()) callbacks_.erase(it);
}

size_t MemoryStore::num_waiting() const {
  absl::ReaderMutexLock lock(&mu_);
  size_t waiting = 0;
  for (const auto& [id, callbacks] : callbacks_) waiting += callbacks.size();
  return waiting;
}

}  // namespace orrery::core
