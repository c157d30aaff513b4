// Fetches the cluster's resources of one kind into a StateTable: from the GCS's tables, its
// task-event history, and, for workers, the raylet of every alive node.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "orrery/task_events.pb.h"

#include "src/cli/cluster_connection.h"
#include "src/cli/state_table.h"

namespace orrery::cli {

// The kinds, as `orrery list` names them, in the order its help lists them.
const std::vector<std::string>& StateKinds();

// The kind `name` means ("task" and "tasks" both mean "tasks"), or nullopt.
std::optional<std::string> KindNamed(const std::string& name);

// The table of `kind` without rows: its columns, to check flags before connecting.
StateTable EmptyTable(const std::string& kind);

struct StateSnapshot {
  StateTable table;
  // Sources that did not answer (a raylet): one line each, for stderr; the table lacks theirs.
  std::vector<std::string> warnings;
  // By job (hex id): why the job's rows are incomplete, for a listing that shows them.
  std::map<std::string, std::string> job_notes;
};

// The resources of `kind` (one of StateKinds()). A failed call to the GCS is an error that
// says what failed (DescribeCallError).
absl::StatusOr<StateSnapshot> FetchState(const std::string& kind, const ClusterConnection& cluster);

// The GCS's task attempts, of the job `job_id` (binary; empty: of every job), oldest first.
absl::StatusOr<rpc::GetTaskEventsReply> FetchTaskEvents(const ClusterConnection& cluster, const std::string& job_id);

}  // namespace orrery::cli
