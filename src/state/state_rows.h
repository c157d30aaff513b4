// The cluster's replies turned into the StateTables of `orrery list`: one function per kind,
// each naming its columns. Pure (the caller fetches the replies), so each is unit-tested.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "orrery/gcs.pb.h"
#include "orrery/job_submission.pb.h"
#include "orrery/node_manager.pb.h"
#include "orrery/placement_group.pb.h"
#include "orrery/task_events.pb.h"

#include "src/state/state_table.h"

namespace orrery::state {

// Every node the GCS knows, dead ones included, with the usage its raylet last reported.
StateTable NodesTable(const rpc::GetClusterStatusReply& status);

// Every job, with the submission (`orrery job submit`) that started its driver, if one did.
StateTable JobsTable(const rpc::GetAllJobsReply& jobs, const rpc::ListJobSubmissionsReply& submissions);

StateTable ActorsTable(const rpc::ListActorsReply& actors);

// One row per attempt of a task. A running attempt's duration is its time so far (`now_us`).
StateTable TasksTable(const rpc::GetTaskEventsReply& events, int64_t now_us);

// `orrery summary tasks`: per function, its tasks by the state of their latest attempt.
StateTable TasksByFunction(const StateTable& tasks);

// `orrery summary actors`: per class, its actors by state.
StateTable ActorsByClass(const StateTable& actors);

// For each job (hex id) whose task events were not all kept: a line saying how many were lost
// and why, for a listing that shows the job's tasks.
std::map<std::string, std::string> DroppedTaskEventNotes(const rpc::GetTaskEventsReply& events);

StateTable PlacementGroupsTable(const rpc::GetAllPlacementGroupsReply& groups);

// The workers of each node's raylet.
StateTable WorkersTable(const std::vector<rpc::GetNodeStatsReply>& nodes);

}  // namespace orrery::state
