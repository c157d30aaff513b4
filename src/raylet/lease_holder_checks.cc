// LeaseManager: asking holders whether they still hold the task leases granted to them. A grant
// whose every reply was lost (the requester gave up and asked elsewhere), or a return that never
// arrived, leaves a worker leased that nobody uses, and its CPU taken for good: with soft
// affinity to this node, the requests that wait here would wait forever. The holder says which
// leases it neither holds nor waits for; those end, and their workers with them. A holder that
// cannot be reached several checks in a row is taken for gone, as a death the feed did not
// report.
#include <map>

#include "src/common/clock.h"
#include "src/common/log.h"
#include "src/raylet/lease_manager.h"

namespace orrery::raylet {

void LeaseManager::CheckHolders() {
  if (!options_.check_holder) return;
  int64_t now = MonotonicMs();
  if (now - last_holder_check_ms_ < options_.check_holders_every_ms) return;
  last_holder_check_ms_ = now;
  std::map<WorkerId, std::pair<rpc::WorkerAddress, std::vector<LeaseId>>> asks;
  for (const auto& [id, lease] : leases_) {
    // Actors' leases are the GCS's, which restores them from its tables. A grant made while no
    // call was open is asked about too: its holder may have cancelled it (the cancel lost).
    if (lease->state != Lease::State::kGranted || lease->spec.is_actor_worker() ||
        now - lease->granted_at_ms < options_.check_holders_every_ms || lease->spec.holder().port() <= 0) {
      continue;
    }
    auto& ask = asks[lease->holder];
    ask.first = lease->spec.holder();
    ask.second.push_back(id);
  }
  for (auto& [holder, ask] : asks) {
    std::vector<LeaseId> asked = ask.second;
    options_.check_holder(ask.first, std::move(ask.second),
                          [this, holder = holder, asked](absl::StatusOr<std::vector<LeaseId>> not_held) {
                            if (!stopped_) OnHolderChecked(holder, asked, std::move(not_held));
                          });
  }
}

void LeaseManager::OnHolderChecked(const WorkerId& holder, const std::vector<LeaseId>& asked,
                                   absl::StatusOr<std::vector<LeaseId>> not_held) {
  bool gone = false;
  if (!not_held.ok()) {
    spdlog::info("asking lease holder {} about {} leases: {}", holder.ShortHex(), asked.size(),
                 not_held.status().message());
    // A busy holder may answer late: only a refused connection counts.
    if (!absl::IsUnavailable(not_held.status())) return;
    int& misses = unreachable_holders_[holder];
    if (++misses < options_.unreachable_checks_before_gone) return;
    spdlog::warn("lease holder {} could not be reached {} checks in a row ({}): ending its leases here",
                 holder.ShortHex(), misses, not_held.status().message());
    unreachable_holders_.erase(holder);
    gone = true;
    not_held = asked;
  } else {
    unreachable_holders_.erase(holder);
  }
  bool ended = false;
  for (const LeaseId& id : *not_held) {
    auto it = leases_.find(id);
    if (it == leases_.end() || it->second->state != Lease::State::kGranted || it->second->holder != holder) continue;
    std::shared_ptr<Worker> worker = it->second->worker;
    // The worker is ended rather than pooled again: whatever it was last given (a stream that
    // outlived its holder's record, a task) must not meet the next holder's.
    if (gone) {
      pool_.KillWorker(worker, "its lease holder " + holder.Hex() + " could not be reached");
    } else {
      spdlog::warn("taking back lease {} (worker {}): its holder {} does not hold it (a lost grant or return)",
                   id.ShortHex(), worker->id.ShortHex(), holder.ShortHex());
      pool_.KillWorker(worker, "its lease holder " + holder.Hex() + " does not hold its lease");
    }
    Finish(id, /*dispatch=*/false);
    ended = true;
  }
  if (ended) Dispatch();
}

}  // namespace orrery::raylet
