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

void CoreWorker::PushNearArguments(std::shared_ptr<rpc::TaskSpec> task, const ResourceSet& shape, int64_t bytes) {
  std::optional<NodeId> near;
  if (task->strategy().kind() == rpc::SchedulingStrategy::DEFAULT) near = NodeHoldingArguments(*task);
  if (!near.has_value() || nodes_ == nullptr) return submitter_->Push(std::move(*task), shape, bytes);
  nodes_->FindAsync(*near, [this, task, shape, bytes](absl::StatusOr<NodeDirectory::Node> node) {
    // A node that cannot be found (dead) is no better place: lease as usual.
    submitter_->Push(std::move(*task), shape, bytes, node.ok() ? node->raylet_address.ToString() : "");
  });
}

std::optional<NodeId> CoreWorker::NodeHoldingArguments(const rpc::TaskSpec& task) {
  absl::flat_hash_map<NodeId, int> held;
  for (const rpc::TaskArg& arg : task.args()) {
    if (!arg.has_ref()) continue;
    auto id = ObjectId::FromBinary(arg.ref().object_id());
    Value value = id.ok() ? store_.GetIfReady(*id) : nullptr;
    if (value == nullptr || value->format != internal::Format::kInStore) continue;
    if (auto node = NodeId::FromBinary(value->payload); node.ok()) ++held[*node];
  }
  std::optional<NodeId> best;
  int most = 0;
  for (const auto& [node, count] : held) {
    if (count > most) {
      best = node;
      most = count;
    }
  }
  if (best == options_.node_id) return std::nullopt;
  return best;
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
    nodes_->FindAsync(node, [id, node](absl::StatusOr<NodeDirectory::Node> found) {
      if (!found.ok()) return;  // a dead node's store went with it
      rpc::FreeObjectsRequest request;
      request.add_object_ids(id.Binary());
      rpc::CallOptions call;
      call.retry = true;
      found->raylet->client().Call(&NodeManagerStub::async::FreeObjects, request, call,
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
