// MemoryStore: the values this process holds (its own objects' values, and copies of others'
// it fetched), and the waiting for them. On the hot path: one mutex, called directly from user
// threads (Get), gRPC threads (a task's result arriving) and the core worker's loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "orrery/internal/serialized_value.h"
#include "src/common/id.h"

namespace orrery::core {

using Value = std::shared_ptr<const internal::SerializedValue>;

// Which of `values` (as Wait found them, null where not ready) count as ready: exactly the first
// `num_objects` that are, as in Ray; the rest stay unready.
std::vector<bool> FirstReady(const std::vector<Value>& values, int num_objects);

// How long a waiter polls before it sleeps here: 500 µs on a machine with at least 4 CPUs,
// none on a smaller one (see memory_store.cc).
absl::Duration DefaultPollBeforeSleeping();

class MemoryStore {
 public:
  explicit MemoryStore(absl::Duration poll_before_sleeping = DefaultPollBeforeSleeping())
      : poll_before_sleeping_(poll_before_sleeping) {}

  // Stores (or replaces) a value and wakes whoever waits for it.
  void Put(const ObjectId& id, Value value);
  Value GetIfReady(const ObjectId& id) const;
  bool Contains(const ObjectId& id) const;
  // Drops the value, and the OnReady callbacks waiting for one: a freed object's value never
  // comes (a callback is registered only while no value is held, so a value deleted to be made
  // again has none to drop).
  void Delete(const ObjectId& id);

  // Blocks until at least `num_required` of `ids` are ready or `timeout_ms` passes (< 0:
  // forever). The first `poll_before_sleeping` poll instead of sleeping, in one waiting thread
  // at a time. Returns the values found (null where not ready); each value as first
  // found, so one deleted meanwhile is still returned. `on_block` runs once, before the first
  // real wait (the worker tells its raylet it is blocked), and `on_unblock` after it.
  std::vector<Value> Wait(const std::vector<ObjectId>& ids, size_t num_required, int64_t timeout_ms,
                          const std::function<void()>& on_block = nullptr,
                          const std::function<void()>& on_unblock = nullptr);

  // Calls `callback` (outside the lock) once `id` is ready: now if it is. Returns the ticket
  // that cancels it (0 when it ran at once).
  uint64_t OnReady(const ObjectId& id, std::function<void(const Value&)> callback);
  // Drops the callback of `ticket` unless it ran: a waiter that gave up (GetObject answered
  // PENDING) must not leave one behind per poll. Unknown tickets are ignored.
  void CancelOnReady(const ObjectId& id, uint64_t ticket);
  // Callbacks waiting, over all objects.
  size_t num_waiting() const;

  size_t size() const;

 private:
  Value FindLocked(const ObjectId& id) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Polls, without the lock, until a Put follows `seen` or `until` passes (see Wait).
  void SpinForPut(uint64_t seen, absl::Time until) const;

  const absl::Duration poll_before_sleeping_;
  mutable absl::Mutex mu_;
  absl::CondVar ready_;
  // Counts Puts, so that a waiter can poll for one without the lock.
  std::atomic<uint64_t> puts_{0};
  // At most one thread polls at a time: many waiters must not burn every core.
  std::atomic<bool> spinning_{false};
  absl::flat_hash_map<ObjectId, Value> values_ ABSL_GUARDED_BY(mu_);
  using Callback = std::function<void(const Value&)>;
  // Each waiting callback with its ticket, in registration order.
  absl::flat_hash_map<ObjectId, std::vector<std::pair<uint64_t, Callback>>> callbacks_ ABSL_GUARDED_BY(mu_);
  uint64_t last_ticket_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace orrery::core
