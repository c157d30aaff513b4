#include "src/state/state_rows.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

#include "src/common/id.h"
#include "src/common/placement_group.h"
#include "src/common/resource_set.h"
#include "src/state/format.h"
#include "src/state/state_cells.h"

namespace orrery::state {

namespace {

// Times are milliseconds since the epoch in JSON ("start_time_ms"), local times in tables.
std::string TimeCell(int64_t ms) { return ms > 0 ? std::to_string(ms) : kNoValue; }
std::string ShowTime(const nlohmann::json& ms) { return LocalTime(ms.get<int64_t>()); }
Column TimeColumn(const std::string& name) { return {name, CellType::kJson, false, name + "_ms", &ShowTime}; }

// A task's run time: seconds in JSON ("duration_s"), "12.3ms" in tables.
std::string DurationCell(int64_t us) { return nlohmann::json(static_cast<double>(us) / 1e6).dump(); }
std::string ShowDuration(const nlohmann::json& seconds) {
  return PreciseDuration(static_cast<int64_t>(seconds.get<double>() * 1e6 + 0.5));
}

// {"CPU": {"used": 1, "total": 2}, ...}; "CPU 1/2 GPU 0/1" in tables.
std::string ResourcesCell(const ResourceSet& total, const ResourceSet& available) {
  nlohmann::ordered_json resources = nlohmann::ordered_json::object();
  for (const auto& [name, amount] : total.quantities()) {
    double used = std::max(0.0, (amount - available.Get(name)).ToDouble());
    resources[name] = {{"used", used}, {"total", amount.ToDouble()}};
  }
  return resources.dump();
}
std::string ShowResources(const nlohmann::json& resources) {
  std::string out;
  for (const auto& [name, usage] : resources.items()) {
    absl::StrAppend(&out, out.empty() ? "" : " ", name, " ", FixedPoint::FromDouble(usage["used"]).ToString(), "/",
                    FixedPoint::FromDouble(usage["total"]).ToString());
  }
  return out.empty() ? kNoValue : out;
}

// {"used_bytes": ..., "capacity_bytes": ...}; "1.2MiB/2GiB" in tables.
std::string ObjectStoreCell(uint64_t used, uint64_t capacity) {
  return nlohmann::ordered_json{{"used_bytes", used}, {"capacity_bytes", capacity}}.dump();
}
std::string ShowObjectStore(const nlohmann::json& store) {
  return HumanBytes(store["used_bytes"].get<uint64_t>()) + "/" + HumanBytes(store["capacity_bytes"].get<uint64_t>());
}

}  // namespace

StateTable NodesTable(const rpc::GetClusterStatusReply& status) {
  StateTable table{"nodes",
                   {{"node_id"},
                    {"address"},
                    {"state"},
                    {"resources", CellType::kJson, false, "", &ShowResources},
                    {"object_store", CellType::kJson, false, "", &ShowObjectStore},
                    {"workers", CellType::kInteger},
                    {"death_reason"}},
                   {}};
  absl::flat_hash_map<std::string, const rpc::NodeResourceUsage*> usage;
  for (const auto& u : status.usage()) usage[u.node_id()] = &u;
  for (const rpc::NodeInfo& node : status.nodes()) {
    bool alive = node.state() == rpc::NodeInfo::ALIVE;
    auto it = usage.find(node.node_id());
    // A dead node's last report says nothing about it now.
    const rpc::NodeResourceUsage* reported = alive && it != usage.end() ? it->second : nullptr;
    ResourceSet total = ResourceSet::FromProto(node.total_resources()).value_or(ResourceSet());
    std::string resources = kNoValue, object_store = kNoValue, workers = kNoValue;
    if (alive) {
      ResourceSet available =
          reported == nullptr ? total : ResourceSet::FromProto(reported->available()).value_or(ResourceSet());
      resources = ResourcesCell(total, available);
    }
    if (reported != nullptr) {
      object_store = ObjectStoreCell(reported->object_store_used_bytes(), node.object_store_memory());
      workers = std::to_string(reported->num_workers());
    }
    table.rows.push_back({IdCell<NodeId>(node.node_id()), absl::StrCat(node.node_ip(), ":", node.node_manager_port()),
                          rpc::NodeInfo::State_Name(node.state()), resources, object_store, workers,
                          TextCell(node.death_reason())});
  }
  return table;
}

StateTable JobsTable(const rpc::GetAllJobsReply& jobs, const rpc::ListJobSubmissionsReply& submissions) {
  StateTable table{"jobs",
                   {{"job_id"},
                    {"submission_id"},
                    {"state"},
                    {"driver_pid", CellType::kInteger},
                    {"driver_node_id"},
                    TimeColumn("start_time"),
                    TimeColumn("end_time"),
                    {"namespace"},
                    {"entrypoint"}},
                   {}};
  absl::flat_hash_map<std::string, const rpc::JobSubmission*> submission_of;  // by binary job id
  for (const rpc::JobSubmission& submission : submissions.jobs()) {
    if (!submission.job_id().empty()) submission_of[submission.job_id()] = &submission;
  }
  auto entrypoint_of = [](const rpc::JobSubmission& submission) {
    return QuotedCommandLine({submission.entrypoint().begin(), submission.entrypoint().end()});
  };
  for (const rpc::JobInfo& job : jobs.jobs()) {
    auto it = submission_of.find(job.job_id());
    const rpc::JobSubmission* submission = it == submission_of.end() ? nullptr : it->second;
    // A submitted job's state is its submission's, which says how its driver ended
    // (SUCCEEDED, FAILED, STOPPED); a driver started by hand has the GCS's RUNNING or FINISHED.
    table.rows.push_back(
        {IdCell<JobId>(job.job_id()), submission == nullptr ? kNoValue : submission->submission_id(),
         submission == nullptr ? rpc::JobInfo::State_Name(job.state())
                               : rpc::JobSubmission::State_Name(submission->state()),
         PositiveCell(job.driver_pid()), IdCell<NodeId>(job.driver_node_id()), TimeCell(job.start_time_ms()),
         TimeCell(job.end_time_ms()), TextCell(job.config().namespace_()),
         submission == nullptr ? kNoValue : entrypoint_of(*submission)});
  }
  // Submissions whose driver has registered no job (yet, or ever: one that failed to start, or
  // a command that is no Orrery driver) are jobs to their user all the same.
  for (const rpc::JobSubmission& submission : submissions.jobs()) {
    if (!submission.job_id().empty()) continue;
    table.rows.push_back({kNoValue, submission.submission_id(), rpc::JobSubmission::State_Name(submission.state()),
                          PositiveCell(submission.driver_pid()), kNoValue, TimeCell(submission.start_time_ms()),
                          TimeCell(submission.end_time_ms()), kNoValue, entrypoint_of(submission)});
  }
  return table;
}

StateTable ActorsTable(const rpc::ListActorsReply& actors) {
  StateTable table{"actors",
                   {{"actor_id"},
                    {"class"},
                    {"name"},
                    {"namespace"},
                    {"state"},
                    {"job_id"},
                    {"node_id"},
                    {"pid", CellType::kInteger},
                    {"restarts", CellType::kInteger},
                    {"death_cause"},
                    {"death_message", CellType::kText, /*detail=*/true}},
                   {}};
  for (const rpc::ActorInfo& actor : actors.actors()) {
    bool alive = actor.state() == rpc::ActorInfo::ALIVE;
    std::string death_cause = actor.death_cause() == rpc::ActorInfo::DEATH_CAUSE_UNSPECIFIED
                                  ? kNoValue
                                  : rpc::ActorInfo::DeathCause_Name(actor.death_cause());
    // The class is known by its factory: the creation task's function.
    table.rows.push_back(
        {IdCell<ActorId>(actor.actor_id()), TextCell(actor.creation().function_name()), TextCell(actor.name()),
         TextCell(actor.name_space()), rpc::ActorInfo::State_Name(actor.state()), IdCell<JobId>(actor.job_id()),
         alive ? IdCell<NodeId>(actor.address().node_id()) : kNoValue, alive ? PositiveCell(actor.pid()) : kNoValue,
         std::to_string(actor.num_restarts()), death_cause, TextCell(actor.death_message())});
  }
  return table;
}

StateTable TasksTable(const rpc::GetTaskEventsReply& events, int64_t now_us) {
  StateTable table{"tasks",
                   {{"task_id"},
                    {"attempt", CellType::kInteger},
                    {"name"},
                    {"function"},
                    {"kind"},
                    {"state"},
                    {"job_id"},
                    {"node_id"},
                    {"worker_id"},
                    {"error_type"},
                    {"duration", CellType::kJson, false, "duration_s", &ShowDuration},
                    TimeColumn("submitted"),
                    {"actor_id", CellType::kText, /*detail=*/true},
                    {"error_message", CellType::kText, /*detail=*/true}},
                   {}};
  for (const rpc::TaskAttempt& task : events.tasks()) {
    std::string duration = kNoValue;
    if (task.running_us() > 0 && task.ended_us() > 0) {
      duration = DurationCell(std::max<int64_t>(0, task.ended_us() - task.running_us()));
    } else if (task.running_us() > 0 && task.state() == rpc::RUNNING) {
      duration = DurationCell(std::max<int64_t>(0, now_us - task.running_us()));
    }
    table.rows.push_back(
        {IdCell<TaskId>(task.task_id()), std::to_string(task.attempt()), TextCell(task.name()),
         TextCell(task.function_name()), rpc::TaskKind_Name(task.kind()), rpc::TaskState_Name(task.state()),
         IdCell<JobId>(task.job_id()), IdCell<NodeId>(task.node_id()), IdCell<WorkerId>(task.worker_id()),
         TextCell(task.error_type()), duration, TimeCell(task.submitted_us() / 1000), IdCell<ActorId>(task.actor_id()),
         TextCell(task.error_message())});
  }
  return table;
}

namespace {

// The states of an enum of the protocol, in order, as a summary's columns.
template <typename NameOf>
std::vector<std::string> StateNames(int min, int max, NameOf name_of) {
  std::vector<std::string> names;
  for (int value = min; value <= max; ++value) names.push_back(name_of(value));
  return names;
}

}  // namespace

StateTable TasksByFunction(const StateTable& tasks) {
  // A task counts once, in the state of its latest attempt.
  return CountByState(LatestPerKey(tasks, "task_id", "attempt"), "function",
                      StateNames(rpc::TaskState_MIN, rpc::TaskState_MAX,
                                 [](int v) { return rpc::TaskState_Name(static_cast<rpc::TaskState>(v)); }));
}

StateTable ActorsByClass(const StateTable& actors) {
  return CountByState(actors, "class", StateNames(rpc::ActorInfo::State_MIN, rpc::ActorInfo::State_MAX, [](int v) {
                        return rpc::ActorInfo::State_Name(static_cast<rpc::ActorInfo::State>(v));
                      }));
}

std::map<std::string, std::string> DroppedTaskEventNotes(const rpc::GetTaskEventsReply& events) {
  std::map<std::string, std::string> notes;
  for (const rpc::JobTaskEventCounts& job : events.jobs()) {
    int64_t lost = job.dropped_by_workers() + job.evicted_by_gcs();
    if (lost <= 0) continue;
    std::string id = IdCell<JobId>(job.job_id());
    notes[id] = absl::StrCat("note: ", lost, " task events of job ", id, " were dropped (", job.dropped_by_workers(),
                             " by its workers, whose buffers were full; ", job.evicted_by_gcs(),
                             " by the GCS, to bound what it keeps): its tasks are not all shown");
  }
  return notes;
}

StateTable PlacementGroupsTable(const rpc::GetAllPlacementGroupsReply& groups) {
  StateTable table{"placement-groups",
                   {{"placement_group_id"},
                    {"name"},
                    {"strategy"},
                    {"state"},
                    {"bundles", CellType::kInteger},
                    {"job_id"},
                    {"pending_reason"}},
                   {}};
  for (const rpc::PlacementGroupInfo& group : groups.groups()) {
    table.rows.push_back({IdCell<PlacementGroupId>(group.placement_group_id()), TextCell(group.name()),
                          rpc::PlacementStrategy_Name(group.strategy()),
                          rpc::PlacementGroupInfo::State_Name(group.state()), std::to_string(group.bundles_size()),
                          IdCell<JobId>(group.job_id()), TextCell(group.pending_reason())});
  }
  return table;
}

StateTable WorkersTable(const std::vector<rpc::GetNodeStatsReply>& nodes) {
  StateTable table{"workers",
                   {{"worker_id"},
                    {"node_id"},
                    {"pid", CellType::kInteger},
                    {"job_id"},
                    {"state"},
                    {"is_actor_worker", CellType::kBoolean},
                    {"blocked", CellType::kBoolean}},
                   {}};
  for (const rpc::GetNodeStatsReply& node : nodes) {
    for (const rpc::WorkerStats& worker : node.workers()) {
      table.rows.push_back({IdCell<WorkerId>(worker.worker_id()), IdCell<NodeId>(node.node_id()),
                            PositiveCell(worker.pid()), IdCell<JobId>(worker.job_id()),
                            rpc::WorkerStats::State_Name(worker.state()), BoolCell(worker.is_actor_worker()),
                            BoolCell(worker.blocked())});
    }
  }
  return table;
}

}  // namespace orrery::state
