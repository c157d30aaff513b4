#include "src/core_worker/node_directory.h"
#include "src/rpc/retried_call.h"

#include "absl/strings/str_cat.h"
#include "src/common/status.h"

namespace orrery::core {

namespace {

// Every node, dead ones too: a dead node is an error naming it, not an unknown one.
rpc::GetAllNodesRequest AllNodes() {
  rpc::GetAllNodesRequest request;
  request.set_include_dead(true);
  return request;
}

}  // namespace

absl::StatusOr<NodeDirectory::Node> NodeDirectory::Find(const NodeId& node) {
  if (auto known = Known(node)) return *known;
  return FromNodeTable(node, gcs_.client().CallSync(&rpc::GcsService::Stub::async::GetAllNodes, AllNodes(), rpc::RetriedCall()));
}

void NodeDirectory::FindAsync(const NodeId& node, NodeCallback done) {
  if (auto known = Known(node)) return done(*known);
  gcs_.client().Call(&rpc::GcsService::Stub::async::GetAllNodes, AllNodes(), rpc::RetriedCall(),
                     [this, node, done = std::move(done)](absl::StatusOr<rpc::GetAllNodesReply> nodes) {
                       done(FromNodeTable(node, nodes));
                     });
}

std::optional<NodeDirectory::Node> NodeDirectory::Known(const NodeId& node) {
  absl::MutexLock lock(&mu_);
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<NodeDirectory::Node> NodeDirectory::FromNodeTable(
    const NodeId& node, const absl::StatusOr<rpc::GetAllNodesReply>& nodes) {
  if (!nodes.ok()) return Annotate(nodes.status(), absl::StrCat("looking up node ", node.Hex(), " in the GCS"));
  for (const rpc::NodeInfo& info : nodes->nodes()) {
    if (info.node_id() != node.Binary()) continue;
    if (info.state() == rpc::NodeInfo::DEAD) {
      return absl::UnavailableError(absl::StrCat("node ", node.Hex(), " is dead: ", info.death_reason()));
    }
    HostPort raylet_address{info.node_ip(), info.node_manager_port()};
    absl::MutexLock lock(&mu_);
    Node& known = nodes_[node];
    if (known.raylet == nullptr) {
      known.raylet = raylets_.At(raylet_address.ToString());
      known.raylet_address = raylet_address;
      known.object_data = HostPort{info.node_ip(), info.object_data_port()};
    }
    return known;
  }
  return absl::NotFoundError(absl::StrCat("node ", node.Hex(), " is not in the cluster"));
}

void NodeDirectory::Stop() {
  absl::flat_hash_map<NodeId, Node> nodes;
  {
    absl::MutexLock lock(&mu_);
    nodes.swap(nodes_);
  }
}

}  // namespace orrery::core
