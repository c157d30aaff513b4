// CoreWorker's side of objects between nodes: a reader pulls a copy of an object from any node
// that holds one (ObjectPuller), its owner tracks where the copies are, and frees them all with
// the object.
#include "absl/strings/str_cat.h"
#include "src/common/log.h"
#include "src/core_worker/core_worker.h"

namespace orrery::core {

namespace {
using CoreWorkerStub = rpc::CoreWorkerService::Stub;
using NodeManagerStub = rpc::NodeManagerService::Stub;

void AddUnique(std::vector<NodeId>& nodes, const NodeId& node) {
  if (std::find(nodes.begin(), nodes.end(), node) == nodes.end()) nodes.push_back(node);
}
}  // namespace

absl::Status CoreWorker::PullObject(const ObjectId& id, const NodeId& holder, int64_t timeout_ms) {
  return puller_->Pull(id, CopiesOf(id, holder), timeout_ms);
}

std::vector<NodeId> CoreWorker::CopiesOf(const ObjectId& id, const NodeId& holder) {
  if (references_->IsOwned(id)) {
    std::vector<NodeId> nodes = OwnedCopiesOf(id);
    AddUnique(nodes, holder);
    return nodes;
  }
  std::vector<NodeId> nodes{holder};
  std::optional<rpc::WorkerAddress> owner = references_->OwnerOf(id);
  if (!owner.has_value() || owner->worker_id().empty()) return nodes;
  rpc::GetObjectLocationsRequest request;
  request.set_object_id(id.Binary());
  rpc::CallOptions call;
  call.timeout_ms = 5'000;
  auto reply = owners_->Get(*owner)->CallSync(&CoreWorkerStub::async::GetObjectLocations, request, call);
  if (!reply.ok()) {
    // The node the marker names is still worth trying.
    spdlog::debug("asking the owner where object {} is: {}", id.Hex(), reply.status().message());
    return nodes;
  }
  for (const std::string& binary : reply->node_ids()) {
    if (auto node = NodeId::FromBinary(binary); node.ok()) AddUnique(nodes, *node);
  }
  return nodes;
}

std::vector<NodeId> CoreWorker::OwnedCopiesOf(const ObjectId& id) {
  std::vector<NodeId> nodes;
  Value value = store_.GetIfReady(id);
  if (value != nullptr && value->format == internal::Format::kInStore) {
    if (auto node = NodeId::FromBinary(value->payload); node.ok()) nodes.push_back(*node);
  }
  for (const NodeId& node : copies_.Of(id)) AddUnique(nodes, node);
  return nodes;
}

void CoreWorker::OnObjectCopied(const ObjectId& id, const NodeId& node) {
  if (references_->IsOwned(id)) {
    copies_.Add(id, node);
    return;
  }
  std::optional<rpc::WorkerAddress> owner = references_->OwnerOf(id);
  if (!owner.has_value() || owner->worker_id().empty() || owners_ == nullptr) return;
  rpc::AddObjectLocationRequest request;
  request.set_object_id(id.Binary());
  request.set_node_id(node.Binary());
  rpc::CallOptions call;
  call.retry = true;  // adding a node twice is harmless
  owners_->Get(*owner)->Call(&CoreWorkerStub::async::AddObjectLocation, request, call,
                             [id](absl::StatusOr<rpc::AddObjectLocationReply> reply) {
                               // The owner is gone or freed the object: the copy is evictable
                               // and goes under memory pressure.
                               if (!reply.ok()) {
                                 spdlog::debug("telling the owner of {} about a copy: {}", id.Hex(),
                                               reply.status().message());
                               }
                             });
}

void CoreWorker::FreeEveryCopy(const ObjectId& id, const internal::SerializedValue& marker) {
  std::vector<NodeId> nodes;
  if (auto node = NodeId::FromBinary(marker.payload); node.ok()) nodes.push_back(*node);
  for (const NodeId& node : copies_.Take(id)) AddUnique(nodes, node);
  for (const NodeId& node : nodes) {
    if (node == options_.node_id) {
      if (shared_ != nullptr) shared_->Delete(id);
      continue;
    }
    if (nodes_ == nullptr || stopped_) continue;
    nodes_->RayletAsync(node, [id, node](absl::StatusOr<NodeDirectory::Client> raylet) {
      if (!raylet.ok()) return;  // a dead node's store went with it
      rpc::FreeObjectsRequest request;
      request.add_object_ids(id.Binary());
      rpc::CallOptions call;
      call.retry = true;
      (*raylet)->client().Call(&NodeManagerStub::async::FreeObjects, request, call,
                               [id, node](absl::StatusOr<rpc::FreeObjectsReply> reply) {
                                 if (!reply.ok()) {
                                   spdlog::debug("freeing the copy of {} on node {}: {}", id.Hex(), node.Hex(),
                                                 reply.status().message());
                                 }
                               });
    });
  }
}

}  // namespace orrery::core
