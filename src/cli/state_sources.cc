#include "src/cli/state_sources.h"

#include <algorithm>
#include <functional>

#include "absl/strings/str_cat.h"
#include "orrery/gcs.grpc.pb.h"
#include "orrery/job_submission.grpc.pb.h"
#include "orrery/node_manager.grpc.pb.h"
#include "orrery/placement_group.grpc.pb.h"
#include "orrery/task_events.grpc.pb.h"
#include "src/cli/format.h"
#include "src/cli/state_rows.h"

namespace orrery::cli {

namespace {

// A raylet that takes longer is reported and skipped, so that one stuck node does not hold
// up the listing of the others for long.
constexpr int64_t kRayletTimeoutMs = 3'000;

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
  rpc::GetAllNodesRequest request;
  auto nodes = CallGcs<rpc::GcsService>(cluster, &rpc::GcsService::Stub::async::GetAllNodes, request);
  if (!nodes.ok()) return nodes.status();
  StateSnapshot snapshot;
  std::vector<rpc::GetNodeStatsReply> stats;
  for (const rpc::NodeInfo& node : nodes->nodes()) {
    if (node.state() != rpc::NodeInfo::ALIVE) continue;
    std::string address = absl::StrCat(node.node_ip(), ":", node.node_manager_port());
    rpc::ClientOptions options = cluster.options;
    options.peer_name = "raylet at " + address;
    rpc::GrpcClient<rpc::NodeManagerService> raylet(rpc::MakeChannel(address, options.rpc), options);
    rpc::CallOptions call;
    call.timeout_ms = kRayletTimeoutMs;
    auto reply = raylet.CallSync(&rpc::NodeManagerService::Stub::async::GetNodeStats, rpc::GetNodeStatsRequest(), call);
    if (!reply.ok()) {
      snapshot.warnings.push_back("warning: skipped the workers of the node at " + address + ": " +
                                  DescribeCallError(reply.status(), address));
      continue;
    }
    // The node's id as the GCS knows it, whatever the raylet says.
    reply->set_node_id(node.node_id());
    stats.push_back(std::move(*reply));
  }
  snapshot.table = WorkersTable(stats);
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

}  // namespace orrery::cli
