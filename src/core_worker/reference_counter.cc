#include "src/core_worker/reference_counter.h"

#include <algorithm>
#include <utility>

namespace orrery::core {

ReferenceCounter::ReferenceCounter(rpc::WorkerAddress self, Callbacks callbacks)
    : self_(std::move(self)), callbacks_(std::move(callbacks)) {}

void ReferenceCounter::AddOwned(const ObjectId& id, const std::vector<ObjectId>& contained) {
  absl::MutexLock lock(&mu_);
  Entry& entry = HoldLocked(id);
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
  Entry& entry = HoldLocked(id);
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
  HoldLocked(id).local += 1;
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
  for (const ObjectId& id : ids) HoldLocked(id).submitted += 1;
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
  it->second.freed = false;
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

ReferenceCounter::Entry& ReferenceCounter::HoldLocked(const ObjectId& id) {
  Entry& entry = entries_[id];
  entry.freed = false;
  return entry;
}

void ReferenceCounter::SetLineage(const ObjectId& id, const std::vector<ObjectId>& arguments) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(id);
  if (it == entries_.end() || !it->second.owned || !it->second.lineage_arguments.empty()) return;
  for (const ObjectId& argument : arguments) {
    auto named = entries_.find(argument);
    if (named == entries_.end() || !named->second.owned) continue;
    named->second.lineage += 1;
    it->second.lineage_arguments.push_back(argument);
  }
}

void ReferenceCounter::DropLineage(const ObjectId& id) {
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    std::vector<ObjectId> pending;
    UnnameLocked(std::exchange(it->second.lineage_arguments, {}), pending);
    for (const ObjectId& unnamed : pending) MaybeDropLocked(unnamed, actions);
  }
  Run(actions);
}

void ReferenceCounter::UnnameLocked(const std::vector<ObjectId>& ids, std::vector<ObjectId>& pending) {
  for (const ObjectId& id : ids) {
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.lineage == 0) continue;
    if (--it->second.lineage == 0) pending.push_back(id);
  }
}

void ReferenceCounter::MaybeDropLocked(const ObjectId& id, Actions& actions) {
  std::vector<ObjectId> pending = {id};
  while (!pending.empty()) {
    ObjectId current = pending.back();
    pending.pop_back();
    auto it = entries_.find(current);
    if (it == entries_.end()) continue;
    Entry& entry = it->second;
    if (entry.held()) continue;
    if (entry.owned && !entry.freed) {
      actions.freed.push_back(current);
      entry.freed = true;
    } else if (!entry.owned && entry.registered) {
      actions.released.emplace_back(current, entry.owner);
    }
    // What its value contained is no longer held by it.
    for (const ObjectId& inner : std::exchange(entry.contains, {})) {
      auto inner_it = entries_.find(inner);
      if (inner_it == entries_.end() || inner_it->second.contained_in == 0) continue;
      inner_it->second.contained_in -= 1;
      pending.push_back(inner);
    }
    // Known for the lineage of another object: it may be made again for it.
    if (entry.owned && entry.lineage > 0) continue;
    UnnameLocked(entry.lineage_arguments, pending);
    if (entry.owned) actions.forgotten.push_back(current);
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
  for (const ObjectId& id : actions.forgotten) {
    if (callbacks_.on_forget) callbacks_.on_forget(id);
  }
}

bool ReferenceCounter::IsOwned(const ObjectId& id) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(id);
  return it != entries_.end() && it->second.owned;
}

bool ReferenceCounter::IsHeld(const ObjectId& id) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(id);
  return it != entries_.end() && it->second.held();
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
