// Fetches the cluster's resources of one kind into a StateTable: from the GCS's tables, its
// task-event history, and, for workers and objects, the raylet of every alive node.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "orrery/task_events.pb.h"

#include "src/state/cluster_connection.h"
#include "src/state/memory_rows.h"
#include "src/state/state_table.h"

namespace orrery::state {

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

// An alive node's raylet: the node's id (binary, as the GCS knows it) and the IP:port of its
// node manager, which serves NodeManagerService and NodeMemoryService.
struct RayletAddress {
  std::string node_id;
  std::string address;
};

// The raylets of the cluster's alive nodes, from the GCS.
absl::StatusOr<std::vector<RayletAddress>> AliveRaylets(const ClusterConnection& cluster);

// The raylets of the nodes `node` names: all of them when it is empty, else the one whose hex
// id it is or starts (any case). None, or several: an error naming it.
absl::StatusOr<std::vector<RayletAddress>> SelectRaylets(std::vector<RayletAddress> raylets, const std::string& node);

// A client of `Service` on the raylet at `address` (IP:port), with the cluster's token and TLS,
// the raylet named in its errors.
template <typename Service>
std::unique_ptr<rpc::GrpcClient<Service>> RayletClient(const ClusterConnection& cluster, const std::string& address) {
  rpc::ClientOptions options = cluster.options;
  options.peer_name = "raylet at " + address;
  return std::make_unique<rpc::GrpcClient<Service>>(rpc::MakeChannel(address, options), options);
}

template <typename Reply>
struct RayletReply {
  RayletAddress raylet;
  Reply reply;
};

// One call of `method` to each of `raylets`, in turn, each within `timeout_ms`, so that one
// stuck node holds up the others for that long at most. A raylet that does not answer is left
// out of the replies, with a line in `warnings` saying that the `what` ("workers") of its node
// were skipped, and why.
template <typename Service, typename Req, typename Reply>
std::vector<RayletReply<Reply>> CallRaylets(const ClusterConnection& cluster, const std::vector<RayletAddress>& raylets,
                                            typename rpc::GrpcClient<Service>::template AsyncMethod<Req, Reply> method,
                                            const Req& request, int64_t timeout_ms, const std::string& what,
                                            std::vector<std::string>& warnings) {
  std::vector<RayletReply<Reply>> replies;
  for (const RayletAddress& raylet : raylets) {
    rpc::CallOptions call;
    call.timeout_ms = timeout_ms;
    auto reply = RayletClient<Service>(cluster, raylet.address)->CallSync(method, request, call);
    if (!reply.ok()) {
      warnings.push_back("warning: skipped the " + what + " of the node at " + raylet.address + ": " +
                         DescribeCallError(reply.status(), raylet.address));
      continue;
    }
    replies.push_back({raylet, std::move(*reply)});
  }
  return replies;
}

// What holds memory on each of `raylets`' nodes (GetNodeMemory, at most `limit` references per
// process and objects per store; 0: the raylet's own cap). Raylets that do not answer are
// warnings, as CallRaylets says.
std::vector<NodeMemory> FetchNodeMemory(const ClusterConnection& cluster, const std::vector<RayletAddress>& raylets,
                                        int64_t limit, std::vector<std::string>& warnings);

}  // namespace orrery::state
