// GcsJobManager: hands out job ids and keeps the job table. A job ends when its driver says
// so, when its driver dies (reported by the driver's raylet), or when the driver's node dies;
// every change is published on the JOB channel.
#pragma once

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "src/common/id.h"
#include "src/gcs/ended_history.h"
#include "src/gcs/gcs_handler.h"
#include "src/gcs/gcs_table_storage.h"
#include "src/gcs/publisher.h"

namespace orrery::gcs {

// Owned and called by the GCS event loop only.
class GcsJobManager final : public JobHandler {
 public:
  // Finished jobs past `max_finished_jobs` are forgotten, oldest first.
  GcsJobManager(StoreClient& store, Publisher& publisher, size_t max_finished_jobs = 10'000);

  void Load(std::function<void(absl::Status)> done);
  size_t num_jobs() const { return jobs_.size(); }
  // Calls fn(const rpc::JobInfo&) for each job kept (metrics).
  template <typename Fn>
  void ForEachJob(Fn&& fn) const {
    for (const auto& [id, job] : jobs_) fn(job);
  }

  void HandleGetNextJobId(const rpc::GetNextJobIdRequest& request, rpc::GetNextJobIdReply* reply,
                          ReplyCallback done) override;
  void HandleAddJob(const rpc::AddJobRequest& request, rpc::AddJobReply* reply, ReplyCallback done) override;
  void HandleMarkJobFinished(const rpc::MarkJobFinishedRequest& request, rpc::MarkJobFinishedReply* reply,
                             ReplyCallback done) override;
  void HandleGetJob(const rpc::GetJobRequest& request, rpc::GetJobReply* reply, ReplyCallback done) override;
  void HandleGetAllJobs(const rpc::GetAllJobsRequest& request, rpc::GetAllJobsReply* reply,
                        ReplyCallback done) override;

  // Ends a running job (no-op otherwise) and publishes it.
  void FinishJob(const JobId& job_id, const std::string& why);
  // Runs when a job ends (once per job).
  void AddJobFinishedListener(std::function<void(const JobId&)> listener) {
    finished_listeners_.push_back(std::move(listener));
  }
  // Ends every running job whose driver ran on `node_id`.
  void OnNodeDead(const NodeId& node_id);

  std::vector<rpc::PubsubMessage> Snapshot() const;

 private:
  void Publish(const rpc::JobInfo& job);
  // A finished job that fell out of the history: gone from memory and storage.
  void Forget(const JobId& finished);

  StoreClient& store_;
  GcsTable<rpc::JobInfo> table_;
  Publisher& publisher_;
  uint32_t last_job_number_ = 0;
  absl::flat_hash_map<JobId, rpc::JobInfo> jobs_;
  EndedHistory<JobId> finished_history_;
  std::vector<std::function<void(const JobId&)>> finished_listeners_;
};

}  // namespace orrery::gcs
