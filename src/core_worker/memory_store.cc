#include "src/core_worker/memory_store.h"

#include <algorithm>
#include <numeric>
#include <thread>

#include "absl/time/clock.h"

namespace orrery::core {

namespace {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// What one Wait has found of its ids, by position. Each look checks only the ids not found yet
// and, where every id is needed (a Get), stops at the first one still missing: waiting for n
// values costs about n lookups in all, not n at each arrival (4 submitters, each getting 10,000
// results, spent a tenth of the machine recounting them).
class Arrivals {
 public:
  Arrivals(const std::vector<ObjectId>& ids, size_t num_required)
      : ids_(ids), num_required_(num_required), found_(ids.size()), missing_(ids.size()) {
    std::iota(missing_.begin(), missing_.end(), size_t{0});
  }

  // Looks again with `find` (the value of an id, or null); returns whether enough are found.
  template <typename Find>
  bool Enough(const Find& find) {
    if (num_required_ >= ids_.size()) {
      while (next_ < missing_.size() && Found(missing_[next_], find)) ++next_;
    } else {
      LookAtEveryMissing(find);
    }
    return ready_ >= num_required_;
  }

  // Every id not found yet looked for: what the answer holds when the wait ends unsatisfied.
  template <typename Find>
  std::vector<Value> Everything(const Find& find) {
    LookAtEveryMissing(find);
    return std::move(found_);
  }

 private:
  template <typename Find>
  bool Found(size_t position, const Find& find) {
    Value value = find(ids_[position]);
    if (value == nullptr) return false;
    found_[position] = std::move(value);
    ++ready_;
    return true;
  }
  template <typename Find>
  void LookAtEveryMissing(const Find& find) {
    size_t kept = next_;
    for (size_t i = next_; i < missing_.size(); ++i) {
      if (!Found(missing_[i], find)) missing_[kept++] = missing_[i];
    }
    missing_.resize(kept);
  }

  const std::vector<ObjectId>& ids_;
  const size_t num_required_;
  std::vector<Value> found_;
  std::vector<size_t> missing_;  // positions not found yet, in order, from next_ on
  size_t next_ = 0;
  size_t ready_ = 0;
};

}  // namespace

// A small task's result comes back within a few hundred microseconds, and waking a sleeping
// thread costs tens of them (on a VM, an inter-processor interrupt to a halted vCPU), so where
// cores are spare a waiter polls for 0.5 ms before it sleeps. Where they are not, the polling
// core is one the reply needs (the worker running the task, this process's thread reading the
// reply): on 2 vCPUs sync tasks ran at 0.6x the bare gRPC echo with the poll and 0.8-1.0x
// without it, their p99 halved (bench/floor_bench.h). So a process polls only on a machine
// with at least 4 CPUs (docs/design/remote-functions.md).
absl::Duration DefaultPollBeforeSleeping() {
  static const absl::Duration poll =
      std::thread::hardware_concurrency() >= 4 ? absl::Microseconds(500) : absl::ZeroDuration();
  return poll;
}

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

Value MemoryStore::FindLocked(const ObjectId& id) const {
  auto it = values_.find(id);
  return it == values_.end() ? nullptr : it->second;
}

std::vector<Value> MemoryStore::Wait(const std::vector<ObjectId>& ids, size_t num_required, int64_t timeout_ms,
                                     const std::function<void()>& on_block,
                                     const std::function<void()>& on_unblock) {
  absl::Time deadline = timeout_ms < 0 ? absl::InfiniteFuture() : absl::Now() + absl::Milliseconds(timeout_ms);
  Arrivals arrivals(ids, num_required);
  auto find = [this](const ObjectId& id) ABSL_NO_THREAD_SAFETY_ANALYSIS { return FindLocked(id); };
  bool blocked = false;
  mu_.Lock();
  bool enough = arrivals.Enough(find);
  if (!enough && poll_before_sleeping_ > absl::ZeroDuration() &&
      !spinning_.exchange(true, std::memory_order_acquire)) {
    absl::Time spin_until = std::min(deadline, absl::Now() + poll_before_sleeping_);
    do {
      uint64_t seen = puts_.load(std::memory_order_acquire);
      mu_.Unlock();
      SpinForPut(seen, spin_until);
      mu_.Lock();
      enough = arrivals.Enough(find);
    } while (!enough && absl::Now() < spin_until);
    spinning_.store(false, std::memory_order_release);
  }
  while (!enough) {
    if (!blocked && on_block) {
      // Telling the raylet is an RPC: never under the lock.
      mu_.Unlock();
      on_block();
      mu_.Lock();
    } else if (ready_.WaitWithDeadline(&mu_, deadline) && absl::Now() >= deadline) {
      break;
    }
    blocked = true;
    enough = arrivals.Enough(find);
  }
  std::vector<Value> out = arrivals.Everything(find);
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
