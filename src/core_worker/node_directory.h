// NodeDirectory: the raylets of other nodes, by node id, for the object transfers between nodes:
// a client of each one's NodeManagerService (from RemoteRaylets) and where its object data
// socket is. Addresses come
// from the GCS node table, asked when a node is first named, and are kept until Stop(). A node
// the GCS reports dead, or does not know, is an error naming it. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "src/common/id.h"
#include "src/common/net.h"
#include "src/core_worker/remote_raylets.h"
#include "src/gcs/client/gcs_client.h"
#include "src/raylet/client/raylet_client.h"

namespace orrery::core {

class NodeDirectory {
 public:
  struct Node {
    std::shared_ptr<raylet::GrpcRayletClient> raylet;
    HostPort raylet_address;
    HostPort object_data;
  };
  using NodeCallback = std::function<void(absl::StatusOr<Node>)>;

  // `raylets` makes the clients (shared with the task submitter); it outlives this directory.
  NodeDirectory(gcs::GrpcGcsClient& gcs, RemoteRaylets& raylets) : gcs_(gcs), raylets_(raylets) {}

  // Blocks on the GCS the first time a node is named: never call it from an event loop.
  absl::StatusOr<Node> Find(const NodeId& node);
  // The same, without blocking: `done` runs on a gRPC thread or at once.
  void FindAsync(const NodeId& node, NodeCallback done);
  // Forgets every node (RemoteRaylets::Stop drops the clients).
  void Stop();

 private:
  // `node`, from `nodes` (the GCS's answer) when not known yet.
  absl::StatusOr<Node> FromNodeTable(const NodeId& node, const absl::StatusOr<rpc::GetAllNodesReply>& nodes);
  std::optional<Node> Known(const NodeId& node);

  gcs::GrpcGcsClient& gcs_;
  RemoteRaylets& raylets_;
  absl::Mutex mu_;
  absl::flat_hash_map<NodeId, Node> nodes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace orrery::core
