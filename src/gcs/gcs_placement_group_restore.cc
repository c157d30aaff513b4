// GcsPlacementGroupManager after a GCS restart: the table restored, and what the previous GCS
// left half-done at the raylets undone before groups are placed again.
#include <map>
#include <set>
#include <string>

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
      if (group.info.state() == rpc::PlacementGroupInfo::CREATED ||
          group.info.state() == rpc::PlacementGroupInfo::RESCHEDULING) {
        for (const rpc::Bundle& bundle : group.info.bundles()) {
          auto node = NodeId::FromOptionalBinary(bundle.node_id());
          if (node.ok() && !node->IsNil()) unconfirmed_bundles_[*node].emplace_back(*id, bundle.index());
        }
      }
    }
    if (!rows->empty()) {
      spdlog::info("restored {} placement groups ({} to place again)", rows->size(), awaiting_reconcile_.size());
    }
    done(absl::OkStatus());
  });
}

void GcsPlacementGroupManager::Reconcile() {
  // Each alive raylet keeps the bundles of the groups restored as placed (CREATED, PREPARED,
  // and RESCHEDULING's kept ones) and cancels every other it holds: prepares of a placement
  // the dead GCS had not stored, and bundles of a removal whose cancels it had not sent.
  // Nothing is placed until every raylet answered, so no new prepare can be taken for an orphan.
  reconciling_ = true;
  std::map<NodeId, rpc::CancelBundlesRequest> requests;
  for (const auto& [id, node] : nodes_.alive_nodes()) requests[id].set_all_but_these(true);
  for (auto& [id, group] : groups_) {
    auto state = group.info.state();
    if (state == rpc::PlacementGroupInfo::REMOVED) continue;
    for (rpc::Bundle& bundle : *group.info.mutable_bundles()) {
      // A PENDING group has no bundle of its own anywhere yet.
      if (state == rpc::PlacementGroupInfo::PENDING) bundle.clear_node_id();
      auto node = NodeId::FromOptionalBinary(bundle.node_id());
      if (!node.ok() || node->IsNil()) continue;
      if (auto it = requests.find(*node); it != requests.end()) *it->second.add_bundles() = SpecOf(group, bundle.index());
    }
  }
  auto left = std::make_shared<size_t>(requests.size());
  auto place = [this] {
    reconciling_ = false;
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
  for (auto& [node, request] : requests) {
    std::shared_ptr<raylet::BundleClient> client = ClientFor(node);
    if (client == nullptr) {
      if (--*left == 0) place();
      continue;
    }
    client->CancelBundles(request, [left, place, node = node](absl::StatusOr<rpc::CancelBundlesReply> reply) {
      // A raylet that cannot be reached is dead or dying: its bundles go with it.
      if (!reply.ok()) spdlog::warn("reconciling the bundles of node {}: {}", node.ShortHex(), reply.status().message());
      if (--*left == 0) place();
    });
  }
}

void GcsPlacementGroupManager::OnNodeReported(const NodeId& node_id, const rpc::HostedState& hosted) {
  auto expected = unconfirmed_bundles_.extract(node_id);
  if (expected.empty()) return;
  std::set<std::pair<std::string, int>> held;
  for (const rpc::HostedBundle& bundle : hosted.bundles()) {
    held.emplace(bundle.placement_group_id(), bundle.bundle_index());
  }
  for (const auto& [id, index] : expected.mapped()) {
    auto it = groups_.find(id);
    if (it == groups_.end()) continue;
    Group& group = it->second;
    auto state = group.info.state();
    if (state != rpc::PlacementGroupInfo::CREATED && state != rpc::PlacementGroupInfo::RESCHEDULING) continue;
    if (index < 0 || index >= group.info.bundles_size()) continue;
    rpc::Bundle& bundle = *group.info.mutable_bundles(index);
    if (bundle.node_id() != node_id.Binary() || held.contains({id.Binary(), index})) continue;
    spdlog::warn("node {} does not hold bundle {} of placement group {}, restored as placed there: placing it again",
                 node_id.ShortHex(), index, id.ShortHex());
    bundle.clear_node_id();
    PlaceAgain(id, group, /*lost=*/true);
  }
  PlacePending();
}

}  // namespace orrery::gcs
