#include "src/rpc/replay_cache.h"

#include "src/common/clock.h"

namespace orrery::rpc {

ReplayCache::ReplayCache(size_t max_entries, int64_t ttl_ms) : max_entries_(max_entries), ttl_ms_(ttl_ms) {}

bool ReplayCache::Begin(const std::string& key, Waiter waiter) {
  Outcome known;
  {
    absl::MutexLock lock(&mu_);
    EvictLocked(MonotonicMs());
    auto [it, inserted] = entries_.try_emplace(key);
    if (inserted) return true;
    if (!it->second.done) {
      it->second.waiters.push_back(std::move(waiter));
      return false;
    }
    known = it->second.outcome;
  }
  waiter(known);
  return false;
}

void ReplayCache::Complete(const std::string& key, const Outcome& outcome) {
  std::vector<Waiter> waiters;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    waiters = std::move(it->second.waiters);
    auto code = outcome.status.code();
    bool transient = code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded ||
                     code == absl::StatusCode::kAborted;
    if (transient) {
      entries_.erase(it);
    } else {
      it->second.done = true;
      it->second.outcome = outcome;
      it->second.completed_ms = MonotonicMs();
      completion_order_.push_back(key);
    }
  }
  for (auto& waiter : waiters) waiter(outcome);
}

size_t ReplayCache::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

void ReplayCache::EvictLocked(int64_t now_ms) {
  while (!completion_order_.empty()) {
    auto it = entries_.find(completion_order_.front());
    bool expired = it == entries_.end() || now_ms - it->second.completed_ms > ttl_ms_ ||
                   completion_order_.size() > max_entries_;
    if (!expired) break;
    if (it != entries_.end()) entries_.erase(it);
    completion_order_.pop_front();
  }
}

}  // namespace orrery::rpc
