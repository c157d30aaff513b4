#include "src/gcs/gcs_worker_manager.h"

#include <algorithm>

#include "src/common/log.h"
#include "src/common/clock.h"
#include "src/common/status.h"

namespace orrery::gcs {

GcsWorkerManager::GcsWorkerManager(StoreClient& store, Publisher& publisher, size_t max_history,
                                   DriverDeathCallback on_driver_death)
    : table_(store, kWorkerFailureTable),
      publisher_(publisher),
      max_history_(max_history),
      on_driver_death_(std::move(on_driver_death)) {}

void GcsWorkerManager::HandleReportWorkerFailure(const rpc::ReportWorkerFailureRequest& request,
                                                 rpc::ReportWorkerFailureReply* reply, ReplyCallback done) {
  rpc::WorkerDeath death = request.death();
  auto worker_id = WorkerId::FromBinary(death.worker_id());
  if (!worker_id.ok()) return done(Annotate(worker_id.status(), "ReportWorkerFailure"));
  auto job_id = JobId::FromOptionalBinary(death.job_id());
  if (!job_id.ok()) return done(Annotate(job_id.status(), "ReportWorkerFailure"));
  absl::Status ids = NodeId::FromOptionalBinary(death.node_id()).status();
  if (ids.ok()) ids = WorkerId::FromOptionalBinary(death.lease_holder_id()).status();
  if (ids.ok()) ids = LeaseId::FromOptionalBinary(death.lease_id()).status();
  if (!ids.ok()) return done(Annotate(ids, "ReportWorkerFailure"));
  // Reports are retried; the first one counts.
  if (!reported_.insert(*worker_id).second) return done(absl::OkStatus());
  if (death.time_ms() == 0) death.set_time_ms(NowMs());

  spdlog::info("{} {} (pid {}) of job {} died: {}", death.worker_type() == rpc::DRIVER ? "driver" : "worker",
               worker_id->ShortHex(), death.pid(), job_id->Hex(), death.detail());
  history_.push_back(death);
  while (history_.size() > max_history_) {
    auto oldest = WorkerId::FromBinary(history_.front().worker_id());
    if (oldest.ok()) {
      reported_.erase(*oldest);
      table_.Delete(oldest->Binary(), [](absl::Status) {});
    }
    history_.pop_front();
  }
  // The reporter is answered once the death is stored: a GCS restart does not lose it.
  table_.Put(worker_id->Binary(), death, [done](absl::Status status) {
    if (!status.ok()) spdlog::error("storing a worker failure: {}", status.message());
    done(absl::OkStatus());
  });

  rpc::PubsubMessage message;
  *message.mutable_worker_death() = death;
  publisher_.Publish(rpc::WORKER_DEATH, death.lease_holder_id(), std::move(message));
  if (death.worker_type() == rpc::DRIVER && !job_id->IsNil()) on_driver_death_(*job_id, death.detail());
  for (const auto& listener : death_listeners_) listener(death);
}

void GcsWorkerManager::Load(std::function<void(absl::Status)> done) {
  table_.GetAll([this, done = std::move(done)](absl::StatusOr<absl::flat_hash_map<std::string, rpc::WorkerDeath>> rows) {
    if (!rows.ok()) return done(rows.status());
    std::vector<rpc::WorkerDeath> deaths;
    for (auto& [key, death] : *rows) deaths.push_back(std::move(death));
    std::sort(deaths.begin(), deaths.end(),
              [](const rpc::WorkerDeath& a, const rpc::WorkerDeath& b) { return a.time_ms() < b.time_ms(); });
    for (auto& death : deaths) {
      if (auto id = WorkerId::FromBinary(death.worker_id()); id.ok()) reported_.insert(*id);
      history_.push_back(std::move(death));
    }
    done(absl::OkStatus());
  });
}

void GcsWorkerManager::HandleGetWorkerFailures(const rpc::GetWorkerFailuresRequest& request,
                                               rpc::GetWorkerFailuresReply* reply, ReplyCallback done) {
  size_t limit = request.limit() > 0 ? static_cast<size_t>(request.limit()) : history_.size();
  size_t start = history_.size() > limit ? history_.size() - limit : 0;
  for (size_t i = start; i < history_.size(); ++i) *reply->add_deaths() = history_[i];
  done(absl::OkStatus());
}

std::vector<rpc::PubsubMessage> GcsWorkerManager::Snapshot() const {
  std::vector<rpc::PubsubMessage> messages;
  for (const auto& death : history_) {
    rpc::PubsubMessage message;
    message.set_key(death.lease_holder_id());
    *message.mutable_worker_death() = death;
    messages.push_back(std::move(message));
  }
  return messages;
}

}  // namespace orrery::gcs
