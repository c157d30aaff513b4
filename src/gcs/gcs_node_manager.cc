#include "src/gcs/gcs_node_manager.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "src/common/log.h"
#include "src/common/clock.h"
#include "src/common/resource_set.h"
#include "src/common/status.h"
#include "src/rpc/version_check.h"

namespace orrery::gcs {

absl::Status ValidateNodeInfo(const rpc::NodeInfo& node) {
  auto id = NodeId::FromBinary(node.node_id());
  if (!id.ok()) return id.status();
  if (id->IsNil()) return absl::InvalidArgumentError("node id is nil");
  if (node.node_ip().empty()) return absl::InvalidArgumentError("node_ip is empty");
  if (node.node_manager_port() <= 0 || node.node_manager_port() > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("node_manager_port ", node.node_manager_port(), " is not a port"));
  }
  auto resources = ResourceSet::FromProto(node.total_resources());
  if (!resources.ok()) return resources.status();
  return absl::OkStatus();
}

GcsNodeManager::GcsNodeManager(StoreClient& store, Publisher& publisher, ClusterId cluster_id,
                               std::string instance_id, size_t max_dead_nodes)
    : table_(store, kNodeTable),
      publisher_(publisher),
      cluster_id_(cluster_id),
      instance_id_(std::move(instance_id)),
      dead_history_(max_dead_nodes) {}

void GcsNodeManager::Load(std::function<void(absl::Status)> done) {
  table_.GetAll([this, done = std::move(done)](absl::StatusOr<absl::flat_hash_map<std::string, rpc::NodeInfo>> rows) {
    if (!rows.ok()) {
      done(rows.status());
      return;
    }
    std::vector<std::pair<int64_t, NodeId>> ended;
    for (auto& [key, node] : *rows) {
      auto id = NodeId::FromBinary(key);
      if (!id.ok()) continue;
      if (node.state() == rpc::NodeInfo::ALIVE) {
        alive_[*id] = node;
        for (auto& listener : added_listeners_) listener(node);
      } else {
        dead_[*id] = node;
        ended.emplace_back(node.end_time_ms(), *id);
      }
    }
    for (const NodeId& evicted : dead_history_.Restore(std::move(ended))) Forget(evicted);
    done(absl::OkStatus());
  });
}

void GcsNodeManager::HandleRegisterNode(const rpc::RegisterNodeRequest& request, rpc::RegisterNodeReply* reply,
                                        ReplyCallback done) {
  const rpc::NodeInfo& node = request.node();
  if (absl::Status status = ValidateNodeInfo(node); !status.ok()) {
    done(Annotate(status, "RegisterNode"));
    return;
  }
  NodeId node_id = NodeId::FromBinary(node.node_id()).value();
  std::string who = absl::StrCat("raylet ", node.node_ip(), ":", node.node_manager_port());
  if (absl::Status status = rpc::CheckVersion(who, node.version()); !status.ok()) {
    spdlog::warn("refused to register {}: {}", who, status.message());
    done(status);
    return;
  }
  if (!request.cluster_id().empty() && request.cluster_id() != cluster_id_.Binary()) {
    done(absl::FailedPreconditionError(
        absl::StrCat("this GCS serves cluster ", cluster_id_.Hex(), ", not the node's cluster ",
                     ClusterId::FromBinary(request.cluster_id()).value_or(ClusterId()).Hex(),
                     " (it restarted without its storage): the node's workers and objects belong to the old one")));
    return;
  }
  if (auto it = dead_.find(node_id); it != dead_.end()) {
    done(absl::FailedPreconditionError(absl::StrCat("node ", node_id.Hex(), " was declared dead (",
                                                    it->second.death_reason(),
                                                    "); a raylet declared dead must restart with a new node id")));
    return;
  }
  rpc::NodeInfo stored = node;
  stored.set_state(rpc::NodeInfo::ALIVE);
  auto existing = alive_.find(node_id);
  const bool is_new = existing == alive_.end();
  if (!is_new) {
    stored.set_start_time_ms(existing->second.start_time_ms());
  } else if (stored.start_time_ms() == 0) {
    stored.set_start_time_ms(NowMs());
  }
  reply->set_cluster_id(cluster_id_.Binary());
  reply->set_gcs_instance_id(instance_id_);
  std::optional<rpc::HostedState> hosted;
  if (request.has_hosted()) hosted = request.hosted();
  table_.Put(node_id.Binary(), stored, [this, node_id, stored, is_new, hosted = std::move(hosted),
                                        done](absl::Status status) {
    if (!status.ok()) {
      done(Annotate(status, "storing the node"));
      return;
    }
    // A node may have been declared dead while the write was in flight.
    if (dead_.contains(node_id)) {
      done(absl::FailedPreconditionError("node " + node_id.Hex() + " was declared dead while registering"));
      return;
    }
    alive_[node_id] = stored;
    if (is_new) {
      spdlog::info("node {} registered: {}:{} resources {}", node_id.Hex(), stored.node_ip(),
                   stored.node_manager_port(), ResourceSet::FromProto(stored.total_resources())->ToString());
      for (auto& listener : added_listeners_) listener(stored);
    }
    if (hosted.has_value()) {
      spdlog::info("node {} registered again, hosting {} leases and {} bundles", node_id.Hex(),
                   hosted->leases_size(), hosted->bundles_size());
      for (auto& listener : report_listeners_) listener(node_id, *hosted);
    }
    Publish(stored);
    done(absl::OkStatus());
  });
}

void GcsNodeManager::HandleUnregisterNode(const rpc::UnregisterNodeRequest& request, rpc::UnregisterNodeReply* reply,
                                          ReplyCallback done) {
  auto node_id = NodeId::FromBinary(request.node_id());
  if (!node_id.ok()) {
    done(node_id.status());
    return;
  }
  if (!alive_.contains(*node_id) && !dead_.contains(*node_id)) {
    done(absl::NotFoundError("node " + node_id->Hex() + " is not registered"));
    return;
  }
  MarkNodeDead(*node_id, request.reason().empty() ? "unregistered" : request.reason());
  done(absl::OkStatus());
}

void GcsNodeManager::HandleGetAllNodes(const rpc::GetAllNodesRequest& request, rpc::GetAllNodesReply* reply,
                                       ReplyCallback done) {
  for (const auto& [id, node] : alive_) *reply->add_nodes() = node;
  if (request.include_dead()) {
    for (const auto& [id, node] : dead_) *reply->add_nodes() = node;
  }
  done(absl::OkStatus());
}

void GcsNodeManager::MarkNodeDead(const NodeId& node_id, const std::string& reason) {
  auto it = alive_.find(node_id);
  if (it == alive_.end()) return;
  rpc::NodeInfo node = std::move(it->second);
  alive_.erase(it);
  node.set_state(rpc::NodeInfo::DEAD);
  node.set_end_time_ms(NowMs());
  node.set_death_reason(reason);
  spdlog::warn("node {} ({}:{}) is dead: {}", node_id.Hex(), node.node_ip(), node.node_manager_port(), reason);
  dead_[node_id] = node;
  for (const NodeId& evicted : dead_history_.Add(node_id)) Forget(evicted);
  table_.Put(node_id.Binary(), node, [node_id](absl::Status status) {
    if (!status.ok()) spdlog::error("storing the death of node {}: {}", node_id.Hex(), status.message());
  });
  Publish(node);
  for (auto& listener : removed_listeners_) listener(node);
}

void GcsNodeManager::Forget(const NodeId& dead) {
  dead_.erase(dead);
  table_.Delete(dead.Binary(), [](absl::Status) {});
}

const rpc::NodeInfo* GcsNodeManager::GetAliveNode(const NodeId& node_id) const {
  auto it = alive_.find(node_id);
  return it == alive_.end() ? nullptr : &it->second;
}

std::vector<rpc::NodeInfo> GcsNodeManager::AllNodes() const {
  std::vector<rpc::NodeInfo> nodes;
  for (const auto& [id, node] : alive_) nodes.push_back(node);
  for (const auto& [id, node] : dead_) nodes.push_back(node);
  return nodes;
}

std::vector<rpc::PubsubMessage> GcsNodeManager::Snapshot() const {
  std::vector<rpc::PubsubMessage> messages;
  for (const rpc::NodeInfo& node : AllNodes()) {
    rpc::PubsubMessage message;
    message.set_key(node.node_id());
    *message.mutable_node() = node;
    messages.push_back(std::move(message));
  }
  return messages;
}

void GcsNodeManager::Publish(const rpc::NodeInfo& node) {
  rpc::PubsubMessage message;
  *message.mutable_node() = node;
  publisher_.Publish(rpc::NODE, node.node_id(), std::move(message));
}

}  // namespace orrery::gcs
