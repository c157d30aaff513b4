#include "src/core_worker/memory_store.h"

#include "absl/time/clock.h"

namespace orrery::core {

void MemoryStore::Put(const ObjectId& id, Value value) {
  std::vector<std::function<void(const Value&)>> callbacks;
  {
    absl::MutexLock lock(&mu_);
    values_[id] = value;
    if (auto it = callbacks_.find(id); it != callbacks_.end()) {
      callbacks = std::move(it->second);
      callbacks_.erase(it);
    }
  }
  ready_.SignalAll();
  for (auto& callback : callbacks) callback(value);
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
  absl::MutexLock lock(&mu_);
  values_.erase(id);
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

void MemoryStore::OnReady(const ObjectId& id, std::function<void(const Value&)> callback) {
  Value value;
  {
    absl::MutexLock lock(&mu_);
    auto it = values_.find(id);
    if (it == values_.end()) {
      callbacks_[id].push_back(std::move(callback));
      return;
    }
    value = it->second;
  }
  callback(value);
}

}  // namespace orrery::core
