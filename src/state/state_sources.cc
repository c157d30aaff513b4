#include "src/state/state_sources.h"

#include <algorithm>
#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "orrery/gcs.grpc.pb.h"
#include "orrery/job_submission.grpc.pb.h"
#include "orrery/memory.grpc.pb.h"
#include "orrery/node_manager.grpc.pb.h"
#include "orrery/placement_group.grpc.pb.h"
#include "orrery/task_events.grpc.pb.h"
#include "src/common/id.h"
#include "src/state/format.h"
#include "src/state/state_rows.h"

namespace orrery::state {

namespace {

// A raylet that takes longer is reported and skipped, so that one stuck node does not hold
// up the listing of the others for long.
constexpr int64_t kNodeStatsTimeoutMs = 3'000;
// GetNodeMemory waits for the raylet to ask each of its drivers and workers in turn (each
// within a deadline of its own, past which it is reported as an error), so it takes longer.
constexpr int64_t kNodeMemoryTimeoutMs = 10'000;

int64_t NowUs() { return NowMs() * 1000; }

absl::StatusOr<StateSnapshot> FetchNodes(const ClusterConnection& cluster) {
  auto status = CallGcs<rpc::GcsService>(cluster, &rpc::GcsService::Stub::async::GetClusterStatus,
                                         rpc::GetClusterStatusRequest());
  if (!status.ok()) return status.status();
  return StateSnapshot{NodesTable(*status)};
}

absl::StatusOr<StateSnapshot> FetchJobs(const ClusterConnection& cluster) {
  auto jobs = CallGcs<rpc::GcsService>(cluster, &rpc::GcsService::Stub::async::GetAllJobs, rpc::GetAllJobsRequest());
  if (!jobs.ok()) return jobs.status();
  auto submissions = CallGcs<rpc::JobSubmissionService>(
      cluster, &rpc::JobSubmissionService::Stub::async::ListJobSubmissions, rpc::ListJobSubmissionsRequest());
  if (!submissions.ok()) return submissions.status();
  return StateSnapshot{JobsTable(*jobs, *submissions)};
}

absl::StatusOr<StateSnapshot> FetchActors(const ClusterConnection& cluster) {
  auto actors = CallGcs<rpc::GcsService>(cluster, &rpc::GcsService::Stub::async::ListActors, rpc::ListActorsRequest());
  if (!actors.ok()) return actors.status();
  return StateSnapshot{ActorsTable(*actors)};
}

absl::StatusOr<StateSnapshot> FetchTasks(const ClusterConnection& cluster) {
  auto events = FetchTaskEvents(cluster, "");
  if (!events.ok()) return events.status();
  return StateSnapshot{TasksTable(*events, NowUs()), {}, DroppedTaskEventNotes(*events)};
}

absl::StatusOr<StateSnapshot> FetchPlacementGroups(const ClusterConnection& cluster) {
  auto groups = CallGcs<rpc::PlacementGroupService>(
      cluster, &rpc::PlacementGroupService::Stub::async::GetAllPlacementGroups, rpc::GetAllPlacementGroupsRequest());
  if (!groups.ok()) return groups.status();
  return StateSnapshot{PlacementGroupsTable(*groups)};
}

// Each alive node's raylet, asked in turn; one that does not answer is a warning.
absl::StatusOr<StateSnapshot> FetchWorkers(const ClusterConnection& cluster) {
  auto raylets = AliveRaylets(cluster);
  if (!raylets.ok()) return raylets.status();
  StateSnapshot snapshot;
  std::vector<rpc::GetNodeStatsReply> stats;
  auto replies =
      CallRaylets<rpc::NodeManagerService>(cluster, *raylets, &rpc::NodeManagerService::Stub::async::GetNodeStats,
                                           rpc::GetNodeStatsRequest(), kNodeStatsTimeoutMs, "workers", snapshot.warnings);
  for (auto& [raylet, reply] : replies) {
    // The node's id as the GCS knows it, whatever the raylet says.
    reply.set_node_id(raylet.node_id);
    stats.push_back(std::move(reply));
  }
  snapshot.table = WorkersTable(stats);
  return snapshot;
}

// Every reference held by a process on an alive node; as for workers, a raylet that does not
// answer is a warning, and so is a process that did not answer its raylet.
absl::StatusOr<StateSnapshot> FetchObjects(const ClusterConnection& cluster) {
  auto raylets = AliveRaylets(cluster);
  if (!raylets.ok()) return raylets.status();
  StateSnapshot snapshot;
  std::vector<NodeMemory> nodes = FetchNodeMemory(cluster, *raylets, /*limit=*/0, snapshot.warnings);
  for (std::string& warning : ProcessWarnings(nodes)) snapshot.warnings.push_back(std::move(warning));
  snapshot.table = ObjectsTable(nodes);
  return snapshot;
}

using Fetcher = std::function<absl::StatusOr<StateSnapshot>(const ClusterConnection&)>;

struct Source {
  std::string kind;
  // The kind's table without rows: its columns, known before anything is fetched.
  std::function<StateTable()> empty;
  Fetcher fetch;
};

const std::vector<Source>& Sources() {
  static const auto* sources = new std::vector<Source>{
      {"nodes", [] { return NodesTable({}); }, FetchNodes},
      {"jobs", [] { return JobsTable({}, {}); }, FetchJobs},
      {"actors", [] { return ActorsTable({}); }, FetchActors},
      {"tasks", [] { return TasksTable({}, 0); }, FetchTasks},
      {"placement-groups", [] { return PlacementGroupsTable({}); }, FetchPlacementGroups},
      {"workers", [] { return WorkersTable({}); }, FetchWorkers},
      {"objects", [] { return ObjectsTable({}); }, FetchObjects},
  };
  return *sources;
}

const Source* SourceOf(const std::string& kind) {
  for (const Source& source : Sources()) {
    if (source.kind == kind) return &source;
  }
  return nullptr;
}

}  // namespace

const std::vector<std::string>& StateKinds() {
  static const auto* kinds = [] {
    auto* names = new std::vector<std::string>;
    for (const Source& source : Sources()) names->push_back(source.kind);
    return names;
  }();
  return *kinds;
}

std::optional<std::string> KindNamed(const std::string& name) {
  for (const std::string& kind : StateKinds()) {
    if (name == kind || name + "s" == kind) return kind;
  }
  return std::nullopt;
}

StateTable EmptyTable(const std::string& kind) {
  const Source* source = SourceOf(kind);
  return source == nullptr ? StateTable{kind} : source->empty();
}

absl::StatusOr<StateSnapshot> FetchState(const std::string& kind, const ClusterConnection& cluster) {
  const Source* source = SourceOf(kind);
  if (source == nullptr) return absl::InvalidArgumentError("no kind '" + kind + "'");
  return source->fetch(cluster);
}

absl::StatusOr<rpc::GetTaskEventsReply> FetchTaskEvents(const ClusterConnection& cluster, const std::string& job_id) {
  rpc::GetTaskEventsRequest request;
  request.set_job_id(job_id);
  return CallGcs<rpc::TaskEventService>(cluster, &rpc::TaskEventService::Stub::async::GetTaskEvents, request);
}

absl::StatusOr<std::vector<RayletAddress>> AliveRaylets(const ClusterConnection& cluster) {
  auto nodes = CallGcs<rpc::GcsService>(cluster, &rpc::GcsService::Stub::async::GetAllNodes, rpc::GetAllNodesRequest());
  if (!nodes.ok()) return nodes.status();
  std::vector<RayletAddress> raylets;
  for (const rpc::NodeInfo& node : nodes->nodes()) {
    if (node.state() != rpc::NodeInfo::ALIVE) continue;
    raylets.push_back({node.node_id(), absl::StrCat(node.node_ip(), ":", node.node_manager_port())});
  }
  return raylets;
}

std::vector<NodeMemory> FetchNodeMemory(const ClusterConnection& cluster, const std::vector<RayletAddress>& raylets,
                                        int64_t limit, std::vector<std::string>& warnings) {
  rpc::GetNodeMemoryRequest request;
  request.set_limit(limit);
  std::vector<NodeMemory> nodes;
  auto replies =
      CallRaylets<rpc::NodeMemoryService>(cluster, raylets, &rpc::NodeMemoryService::Stub::async::GetNodeMemory,
                                          request, kNodeMemoryTimeoutMs, "objects", warnings);
  for (auto& [raylet, reply] : replies) {
    nodes.push_back({raylet.node_id, raylet.address, std::move(reply)});
  }
  return nodes;
}

absl::StatusOr<std::vector<RayletAddress>> SelectRaylets(std::vector<RayletAddress> raylets, const std::string& node) {
  if (node.empty()) return raylets;
  std::vector<RayletAddress> selected;
  std::vector<std::string> ids;
  for (RayletAddress& raylet : raylets) {
    std::string hex = NodeId::FromBinary(raylet.node_id).value_or(NodeId()).Hex();
    if (!absl::StartsWithIgnoreCase(hex, node)) continue;
    ids.push_back(hex);
    selected.push_back(std::move(raylet));
  }
  if (selected.empty()) return absl::NotFoundError("no alive node '" + node + "' (`orrery list nodes`)");
  if (selected.size() > 1) {
    return absl::InvalidArgumentError("'" + node + "' is the start of " + std::to_string(selected.size()) +
                                      " node ids: " + absl::StrJoin(ids, ", ") + "; give more of the id");
  }
  return selected;
}

}  // namespace orrery::state
