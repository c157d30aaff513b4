// GcsPlacementGroupManager after a GCS restart: the table restored, and what the previous GCS
// left half-done at the raylets undone before groups are placed again.
#include "absl/strings/str_cat.h"
#include "src/common/log.h"
#include "src/gcs/gcs_placement_group_manager.h"

namespace orrery::gcs {

void GcsPlacementGroupManager::Load(std::function<void(absl::Status)> done) {
  table_.GetAll([this, done = std::move(done)](
                    absl::StatusOr<absl::flat_hash_map<std::string, rpc::PlacementGroupInfo>> rows) {
    if (!rows.ok()) return done(rows.status());
    for (auto& [key, info] : *rows) {
      auto id = PlacementGroupId::FromBinary(key);
      if (!id.ok()) continue;
      Group& group = groups_[*id];
      group.info = std::move(info);
      if (group.info.state() == rpc::PlacementGroupInfo::REMOVED) continue;
      if (!group.info.name().empty()) names_[NameKey(group.info.name_space(), group.info.name())] = *id;
      if (group.info.state() != rpc::PlacementGroupInfo::CREATED) awaiting_reconcile_.push_back(*id);
    }
    if (!rows->empty()) {
      spdlog::info("restored {} placement groups ({} to place again)", rows->size(), awaiting_reconcile_.size());
    }
    done(absl::OkStatus());
  });
}

void GcsPlacementGroupManager::Reconcile() {
  // Cancels every bundle of a waiting group that no committed placement holds, on every alive
  // node: a prepare in flight when the GCS died left it reserved there. Cancelling a bundle a
  // raylet does not have is a no-op.
  std::vector<NodeId> nodes;
  for (const auto& [id, node] : nodes_.alive_nodes()) nodes.push_back(id);
  std::vector<rpc::BundleSpec> orphans;
  for (const PlacementGroupId& id : awaiting_reconcile_) {
    Group& group = groups_.at(id);
    if (group.info.state() == rpc::PlacementGroupInfo::PREPARED) continue;  // all prepared: commit again
    for (rpc::Bundle& bundle : *group.info.mutable_bundles()) {
      // PENDING: no bundle is committed; RESCHEDULING: those with a node still are.
      if (group.info.state() == rpc::PlacementGroupInfo::PENDING) bundle.clear_node_id();
      if (bundle.node_id().empty()) orphans.push_back(SpecOf(group, bundle.index()));
    }
  }
  auto left = std::make_shared<size_t>(orphans.empty() ? 0 : nodes.size());
  auto place = [this] {
    std::vector<PlacementGroupId> waiting = std::move(awaiting_reconcile_);
    awaiting_reconcile_.clear();
    for (const PlacementGroupId& id : waiting) {
      auto it = groups_.find(id);
      if (it == groups_.end() || it->second.info.state() == rpc::PlacementGroupInfo::REMOVED) continue;
      Group& group = it->second;
      if (group.info.state() == rpc::PlacementGroupInfo::PREPARED) {
        spdlog::info("placement group {} was being committed when the GCS restarted: committing it again",
                     id.ShortHex());
        group.placing = true;
        Commit(id, ++group.attempt);
      } else if (std::find(pending_.begin(), pending_.end(), id) == pending_.end()) {
        pending_.push_back(id);
      }
    }
    PlacePending();
  };
  if (*left == 0) return place();
  for (const NodeId& node : nodes) {
    Batched<rpc::CancelBundlesReply>(cancels_, node, orphans, [left, place, node](const auto& reply) {
      if (!reply.ok()) spdlog::warn("cancelling a predecessor's bundles on node {}: {}", node.ShortHex(),
                                    reply.status().message());
      if (--*left == 0) place();
    });
  }
}

}  // namespace orrery::gcs
