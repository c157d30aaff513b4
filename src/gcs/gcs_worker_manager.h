// GcsWorkerManager: failure reports of workers and drivers from the raylets. Keeps a bounded
// history, publishes each death on WORKER_DEATH keyed by the lease holder (so an owner can
// subscribe to the deaths of its own workers), and ends the job of a dead driver.
#pragma once

#include <deque>
#include <functional>

#include "absl/container/flat_hash_set.h"
#include "src/common/id.h"
#include "src/gcs/gcs_handler.h"
#include "src/gcs/gcs_table_storage.h"
#include "src/gcs/publisher.h"

namespace orrery::gcs {

// Owned and called by the GCS event loop only.
class GcsWorkerManager final : public WorkerHandler {
 public:
  using DriverDeathCallback = std::function<void(const JobId&, const std::string& detail)>;

  GcsWorkerManager(StoreClient& store, Publisher& publisher, size_t max_history, DriverDeathCallback on_driver_death);

  // Restores the history after a GCS restart.
  void Load(std::function<void(absl::Status)> done);
  void HandleReportWorkerFailure(const rpc::ReportWorkerFailureRequest& request, rpc::ReportWorkerFailureReply* reply,
                                 ReplyCallback done) override;
  void HandleGetWorkerFailures(const rpc::GetWorkerFailuresRequest& request, rpc::GetWorkerFailuresReply* reply,
                               ReplyCallback done) override;

  // Runs for each death, after it is published (the first report of it only).
  void AddDeathListener(std::function<void(const rpc::WorkerDeath&)> listener) {
    death_listeners_.push_back(std::move(listener));
  }

  // The WORKER_DEATH channel's catch-up for a subscriber that missed messages.
  std::vector<rpc::PubsubMessage> Snapshot() const;

 private:
  GcsTable<rpc::WorkerDeath> table_;
  Publisher& publisher_;
  const size_t max_history_;
  DriverDeathCallback on_driver_death_;
  std::vector<std::function<void(const rpc::WorkerDeath&)>> death_listeners_;
  std::deque<rpc::WorkerDeath> history_;
  absl::flat_hash_set<WorkerId> reported_;
};

}  // namespace orrery::gcs
