#include "src/raylet/worker.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace orrery::raylet {

std::string WorkerOutputPath(const std::string& logs_dir, const WorkerId& worker_id, const char* ext) {
  return absl::StrCat(logs_dir, "/worker-", worker_id.Hex(), ".", ext);
}

std::string WorkerKey::ToString() const {
  return absl::StrCat("job ", job_id.Hex(), is_actor ? " actor" : "", gpu_ids.empty() ? "" : " gpus " + gpu_ids,
                      env_vars.empty() ? "" : " env " + absl::StrJoin(env_vars, ",", absl::PairFormatter("=")));
}

rpc::WorkerStats::State Worker::StatsState() const {
  switch (state) {
    case State::kStarting:
      return rpc::WorkerStats::STARTING;
    case State::kIdle:
      return rpc::WorkerStats::IDLE;
    case State::kLeased:
      return rpc::WorkerStats::LEASED;
    case State::kExiting:
      return rpc::WorkerStats::EXITING;
  }
  return rpc::WorkerStats::STARTING;
}

}  // namespace orrery::raylet
