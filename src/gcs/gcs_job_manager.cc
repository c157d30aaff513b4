#include "src/gcs/gcs_job_manager.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "src/common/log.h"
#include "src/common/clock.h"
#include "src/common/status.h"
#include "src/rpc/version_check.h"

namespace orrery::gcs {

namespace {
constexpr char kJobCounterKey[] = "job_counter";
}

GcsJobManager::GcsJobManager(StoreClient& store, Publisher& publisher, size_t max_finished_jobs)
    : store_(store), table_(store, kJobTable), publisher_(publisher), finished_history_(max_finished_jobs) {}

void GcsJobManager::Load(std::function<void(absl::Status)> done) {
  store_.Get(kCounterTable, kJobCounterKey, [this, done](absl::StatusOr<std::optional<std::string>> counter) {
    if (!counter.ok()) {
      done(counter.status());
      return;
    }
    if (counter->has_value()) absl::SimpleAtoi(**counter, &last_job_number_);
    table_.GetAll([this, done](absl::StatusOr<absl::flat_hash_map<std::string, rpc::JobInfo>> rows) {
      if (!rows.ok()) {
        done(rows.status());
        return;
      }
      std::vector<std::pair<int64_t, JobId>> finished;
      for (auto& [key, job] : *rows) {
        auto id = JobId::FromBinary(key);
        if (!id.ok()) continue;
        if (job.state() == rpc::JobInfo::FINISHED) finished.emplace_back(job.end_time_ms(), *id);
        jobs_[*id] = job;
      }
      for (const JobId& evicted : finished_history_.Restore(std::move(finished))) Forget(evicted);
      done(absl::OkStatus());
    });
  });
}

void GcsJobManager::HandleGetNextJobId(const rpc::GetNextJobIdRequest& request, rpc::GetNextJobIdReply* reply,
                                       ReplyCallback done) {
  uint32_t number = ++last_job_number_;
  store_.Put(kCounterTable, kJobCounterKey, std::to_string(number), /*overwrite=*/true,
             [reply, number, done](absl::StatusOr<bool> stored) {
               if (!stored.ok()) {
                 done(Annotate(stored.status(), "storing the job counter"));
                 return;
               }
               reply->set_job_id(JobIdFromInt(number).Binary());
               done(absl::OkStatus());
             });
}

void GcsJobManager::HandleAddJob(const rpc::AddJobRequest& request, rpc::AddJobReply* reply, ReplyCallback done) {
  const rpc::JobInfo& job = request.job();
  auto job_id = JobId::FromBinary(job.job_id());
  if (!job_id.ok()) {
    done(Annotate(job_id.status(), "AddJob"));
    return;
  }
  if (job_id->IsNil()) {
    done(absl::InvalidArgumentError("AddJob: job id is nil; ask GetNextJobId for one"));
    return;
  }
  if (absl::Status status = rpc::CheckVersion("driver of job " + job_id->Hex(), job.version()); !status.ok()) {
    done(status);
    return;
  }
  if (auto it = jobs_.find(*job_id); it != jobs_.end() && it->second.state() == rpc::JobInfo::FINISHED) {
    done(absl::FailedPreconditionError("job " + job_id->Hex() + " has already finished"));
    return;
  }
  rpc::JobInfo stored = job;
  stored.set_state(rpc::JobInfo::RUNNING);
  if (stored.start_time_ms() == 0) stored.set_start_time_ms(NowMs());
  JobId id = *job_id;
  table_.Put(id.Binary(), stored, [this, id, stored, done](absl::Status status) {
    if (!status.ok()) {
      done(Annotate(status, "storing the job"));
      return;
    }
    bool is_new = !jobs_.contains(id);
    jobs_[id] = stored;
    if (is_new) spdlog::info("job {} started (driver pid {})", id.Hex(), stored.driver_pid());
    Publish(stored);
    done(absl::OkStatus());
  });
}

void GcsJobManager::HandleMarkJobFinished(const rpc::MarkJobFinishedRequest& request,
                                          rpc::MarkJobFinishedReply* reply, ReplyCallback done) {
  auto job_id = JobId::FromBinary(request.job_id());
  if (!job_id.ok()) {
    done(job_id.status());
    return;
  }
  if (!jobs_.contains(*job_id)) {
    done(absl::NotFoundError("no job " + job_id->Hex()));
    return;
  }
  FinishJob(*job_id, "its driver finished");
  // Answered once the job's end is stored.
  table_.AfterEarlierWrites([done = std::move(done)](absl::Status) { done(absl::OkStatus()); });
}

void GcsJobManager::HandleGetJob(const rpc::GetJobRequest& request, rpc::GetJobReply* reply, ReplyCallback done) {
  auto job_id = JobId::FromBinary(request.job_id());
  if (!job_id.ok()) {
    done(job_id.status());
    return;
  }
  auto it = jobs_.find(*job_id);
  if (it == jobs_.end()) {
    done(absl::NotFoundError("no job " + job_id->Hex()));
    return;
  }
  *reply->mutable_job() = it->second;
  done(absl::OkStatus());
}

void GcsJobManager::HandleGetAllJobs(const rpc::GetAllJobsRequest& request, rpc::GetAllJobsReply* reply,
                                     ReplyCallback done) {
  for (const auto& [id, job] : jobs_) *reply->add_jobs() = job;
  done(absl::OkStatus());
}

void GcsJobManager::FinishJob(const JobId& job_id, const std::string& why) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end() || it->second.state() == rpc::JobInfo::FINISHED) return;
  it->second.set_state(rpc::JobInfo::FINISHED);
  it->second.set_end_time_ms(NowMs());
  spdlog::info("job {} finished: {}", job_id.Hex(), why);
  table_.Put(job_id.Binary(), it->second, [this, job_id](absl::Status status) {
    if (!status.ok()) spdlog::error("storing the end of job {}: {}", job_id.Hex(), status.message());
    for (const JobId& evicted : finished_history_.Add(job_id)) Forget(evicted);
  });
  Publish(it->second);
  for (const auto& listener : finished_listeners_) listener(job_id);
}

void GcsJobManager::Forget(const JobId& finished) {
  jobs_.erase(finished);
  table_.Delete(finished.Binary(), [](absl::Status) {});
}

void GcsJobManager::OnNodeDead(const NodeId& node_id) {
  std::vector<JobId> ended;
  for (const auto& [id, job] : jobs_) {
    if (job.state() == rpc::JobInfo::RUNNING && job.driver_node_id() == node_id.Binary()) ended.push_back(id);
  }
  for (const JobId& id : ended) FinishJob(id, "its driver's node died");
}

std::vector<rpc::PubsubMessage> GcsJobManager::Snapshot() const {
  std::vector<rpc::PubsubMessage> messages;
  for (const auto& [id, job] : jobs_) {
    rpc::PubsubMessage message;
    message.set_key(job.job_id());
    *message.mutable_job() = job;
    messages.push_back(std::move(message));
  }
  return messages;
}

void GcsJobManager::Publish(const rpc::JobInfo& job) {
  rpc::PubsubMessage message;
  *message.mutable_job() = job;
  publisher_.Publish(rpc::JOB, job.job_id(), std::move(message));
}

}  // namespace orrery::gcs
