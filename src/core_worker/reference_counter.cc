#include "src/core_worker/reference_counter.h"

#include <algorithm>

namespace orrery::core {

ReferenceCounter::ReferenceCounter(rpc::WorkerAddress self, Callbacks callbacks)
    : self_(std::move(self)), callbacks_(std::move(callbacks)) {}

void ReferenceCounter::AddOwned(const ObjectId& id, const std::vector<ObjectId>& contained) {
  absl::MutexLock lock(&mu_);
  Entry& entry = entries_[id];
  entry.owned = true;
  entry.owner = self_;
  entry.local += 1;
  entry.contains = contained;
  for (const ObjectId& inner : contained) {
    if (auto it = entries_.find(inner); it != entries_.end()) it->second.contained_in += 1;
  }
}

void ReferenceCounter::AddContainedBorrowed(const ObjectId& id, const rpc::WorkerAddress& owner) {
  absl::MutexLock lock(&mu_);
  Entry& entry = entries_[id];
  if (!entry.owned) {
    entry.owner = owner;
    entry.registered = true;
  }
  entry.contained_in += 1;
}

void ReferenceCounter::SetContained(const ObjectId& id, const std::vector<ObjectId>& contained) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(id);
  if (it == entries_.end() || !it->second.contains.empty()) return;
  it->second.contains = contained;
}

bool ReferenceCounter::NoteBorrowed(const ObjectId& id, const rpc::WorkerAddress& owner) {
  absl::MutexLock lock(&mu_);
  Entry& entry = entries_[id];
  if (entry.owned || entry.registered) return false;
  if (owner.worker_id() == self_.worker_id()) {
    // A ref to one of our own objects that came back to us (it must still exist).
    entry.owned = true;
    entry.owner = self_;
    return false;
  }
  entry.owner = owner;
  entry.registered = true;
  return true;
}

void ReferenceCounter::AddLocalRef(const ObjectId& id) {
  absl::MutexLock lock(&mu_);
  entries_[id].local += 1;
}

void ReferenceCounter::RemoveLocalRef(const ObjectId& id) {
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.local == 0) return;
    it->second.local -= 1;
    MaybeDropLocked(id, actions);
  }
  Run(actions);
}

void ReferenceCounter::AddSubmittedRefs(const std::vector<ObjectId>& ids) {
  absl::MutexLock lock(&mu_);
  for (const ObjectId& id : ids) entries_[id].submitted += 1;
}

void ReferenceCounter::RemoveSubmittedRefs(const std::vector<ObjectId>& ids) {
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    for (const ObjectId& id : ids) {
      auto it = entries_.find(id);
      if (it == entries_.end() || it->second.submitted == 0) continue;
      it->second.submitted -= 1;
      MaybeDropLocked(id, actions);
    }
  }
  Run(actions);
}

void ReferenceCounter::AddBorrower(const ObjectId& id, const rpc::WorkerAddress& borrower) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(id);
  if (it == entries_.end() || !it->second.owned) return;
  auto borrower_id = WorkerId::FromBinary(borrower.worker_id());
  if (!borrower_id.ok() || borrower.worker_id() == self_.worker_id()) return;
  it->second.borrowers[*borrower_id] = borrower;
}

void ReferenceCounter::RemoveBorrower(const ObjectId& id, const WorkerId& borrower) {
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.borrowers.erase(borrower) == 0) return;
    MaybeDropLocked(id, actions);
  }
  Run(actions);
}

void ReferenceCounter::OnWorkerDied(const WorkerId& worker) {
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    std::vector<ObjectId> touched;
    for (auto& [id, entry] : entries_) {
      if (entry.borrowers.erase(worker) > 0) touched.push_back(id);
    }
    for (const ObjectId& id : touched) MaybeDropLocked(id, actions);
  }
  Run(actions);
}

void ReferenceCounter::OnNodeDied(const NodeId& node) {
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    std::vector<ObjectId> touched;
    for (auto& [id, entry] : entries_) {
      bool removed = false;
      for (auto it = entry.borrowers.begin(); it != entry.borrowers.end();) {
        if (it->second.node_id() == node.Binary()) {
          entry.borrowers.erase(it++);
          removed = true;
        } else {
          ++it;
        }
      }
      if (removed) touched.push_back(id);
    }
    for (const ObjectId& id : touched) MaybeDropLocked(id, actions);
  }
  Run(actions);
}

void ReferenceCounter::MaybeDropLocked(const ObjectId& id, Actions& actions) {
  std::vector<ObjectId> pending = {id};
  while (!pending.empty()) {
    ObjectId current = pending.back();
    pending.pop_back();
    auto it = entries_.find(current);
    if (it == entries_.end()) continue;
    Entry& entry = it->second;
    if (entry.local > 0 || entry.submitted > 0 || entry.contained_in > 0 || !entry.borrowers.empty()) continue;
    if (entry.owned) {
      actions.freed.push_back(current);
    } else if (entry.registered) {
      actions.released.emplace_back(current, entry.owner);
    }
    // What it contained is no longer held by it.
    for (const ObjectId& inner : entry.contains) {
      auto inner_it = entries_.find(inner);
      if (inner_it == entries_.end() || inner_it->second.contained_in == 0) continue;
      inner_it->second.contained_in -= 1;
      pending.push_back(inner);
    }
    entries_.erase(it);
  }
}

void ReferenceCounter::Run(Actions& actions) {
  for (const ObjectId& id : actions.freed) {
    if (callbacks_.on_free) callbacks_.on_free(id);
  }
  for (const auto& [id, owner] : actions.released) {
    if (callbacks_.on_release) callbacks_.on_release(id, owner);
  }
}

bool ReferenceCounter::IsOwned(const ObjectId& id) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(id);
  return it != entries_.end() && it->second.owned;
}

std::optional<rpc::WorkerAddress> ReferenceCounter::OwnerOf(const ObjectId& id) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return it->second.owner;
}

size_t ReferenceCounter::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

size_t ReferenceCounter::NumBorrowers(const ObjectId& id) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(id);
  return it == entries_.end() ? 0 : it->second.borrowers.size();
}

std::pair<std::vector<ReferenceCounter::Holding>, size_t> ReferenceCounter::List(size_t limit) const {
  std::vector<Holding> holdings;
  absl::MutexLock lock(&mu_);
  holdings.reserve(std::min(limit, entries_.size()));
  for (const auto& [id, entry] : entries_) {
    if (holdings.size() == limit) break;
    holdings.push_back(Holding{id, entry.owned, entry.owned ? self_ : entry.owner, entry.local, entry.submitted,
                               entry.contained_in, static_cast<int64_t>(entry.borrowers.size())});
  }
  return {std::move(holdings), entries_.size()};
}

}  // namespace orrery::core
