// ReplayCache: remembers the outcome of recent calls by request id, so that a call the client
// retried (because an answer was lost) is answered again instead of being applied twice.
// Thread-safe (one mutex); calls waiters outside it.
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace orrery::rpc {

class ReplayCache {
 public:
  struct Outcome {
    absl::Status status;
    std::string reply_bytes;  // the serialized reply when status is OK
  };
  using Waiter = std::function<void(const Outcome&)>;

  ReplayCache(size_t max_entries = 10'000, int64_t ttl_ms = 10 * 60 * 1000);

  // Returns true when `key` is new: the caller runs the call and later calls Complete.
  // Otherwise `waiter` gets the outcome, now if known, or when the first call completes.
  bool Begin(const std::string& key, Waiter waiter);

  // Records the outcome and answers every waiter. Transient failures (UNAVAILABLE,
  // DEADLINE_EXCEEDED, ABORTED) are not kept: a retry runs the call again.
  void Complete(const std::string& key, const Outcome& outcome);

  size_t size() const;

 private:
  struct Entry {
    bool done = false;
    Outcome outcome;
    std::vector<Waiter> waiters;
    int64_t completed_ms = 0;
  };
  void EvictLocked(int64_t now_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_entries_;
  const int64_t ttl_ms_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> completion_order_ ABSL_GUARDED_BY(mu_);
};

}  // namespace orrery::rpc
