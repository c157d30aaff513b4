#include "src/core_worker/node_directory.h"

#include "absl/strings/str_cat.h"
#include "src/common/status.h"

namespace orrery::core {

absl::StatusOr<NodeDirectory::Client> NodeDirectory::Raylet(const NodeId& node) {
  if (auto known = Known(node)) return *known;
  rpc::GetAllNodesRequest request;
  request.set_include_dead(true);
  rpc::CallOptions call;
  call.retry = true;
  return FromNodeTable(node, gcs_.client().CallSync(&rpc::GcsService::Stub::async::GetAllNodes, request, call));
}

void NodeDirectory::RayletAsync(const NodeId& node, ClientCallback done) {
  if (auto known = Known(node)) return done(*known);
  rpc::GetAllNodesRequest request;
  request.set_include_dead(true);
  rpc::CallOptions call;
  call.retry = true;
  gcs_.client().Call(&rpc::GcsService::Stub::async::GetAllNodes, request, call,
                     [this, node, done = std::move(done)](absl::StatusOr<rpc::GetAllNodesReply> nodes) {
                       done(FromNodeTable(node, nodes));
                     });
}

std::optional<NodeDirectory::Client> NodeDirectory::Known(const NodeId& node) {
  absl::MutexLock lock(&mu_);
  auto it = clients_.find(node);
  if (it == clients_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<NodeDirectory::Client> NodeDirectory::FromNodeTable(
    const NodeId& node, const absl::StatusOr<rpc::GetAllNodesReply>& nodes) {
  if (!nodes.ok()) return Annotate(nodes.status(), absl::StrCat("looking up node ", node.Hex(), " in the GCS"));
  for (const rpc::NodeInfo& info : nodes->nodes()) {
    if (info.node_id() != node.Binary()) continue;
    if (info.state() == rpc::NodeInfo::DEAD) {
      return absl::UnavailableError(absl::StrCat("node ", node.Hex(), " is dead: ", info.death_reason()));
    }
    std::string address = absl::StrCat(info.node_ip(), ":", info.node_manager_port());
    rpc::ClientOptions options = raylet_options_;
    options.peer_name = absl::StrCat("raylet of node ", node.Hex(), " at ", address);
    absl::MutexLock lock(&mu_);
    Client& client = clients_[node];
    if (client == nullptr) client = std::make_shared<raylet::GrpcRayletClient>(address, std::move(options));
    return client;
  }
  return absl::NotFoundError(absl::StrCat("node ", node.Hex(), " is not in the cluster"));
}

void NodeDirectory::Stop() {
  absl::flat_hash_map<NodeId, Client> clients;
  {
    absl::MutexLock lock(&mu_);
    clients.swap(clients_);
  }
}

}  // namespace orrery::core
