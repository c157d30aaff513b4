#include "src/raylet/bundle_manager.h"

#include <set>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "src/common/log.h"
#include "src/common/status.h"

namespace orrery::raylet {

absl::StatusOr<std::pair<BundleManager::Key, ResourceSet>> BundleManager::Parse(const rpc::BundleSpec& spec) {
  auto group = PlacementGroupId::FromBinary(spec.placement_group_id());
  if (!group.ok()) return Annotate(group.status(), "bundle placement_group_id");
  if (spec.index() < 0) return absl::InvalidArgumentError(absl::StrCat("bundle index ", spec.index(), " is negative"));
  auto resources = ResourceSet::FromProto(spec.resources());
  if (!resources.ok()) return Annotate(resources.status(), "bundle resources");
  if (resources->Empty()) return absl::InvalidArgumentError("a bundle must hold some resource");
  return std::make_pair(Key{*group, spec.index()}, std::move(*resources));
}

absl::StatusOr<rpc::PrepareBundlesReply> BundleManager::Prepare(const rpc::PrepareBundlesRequest& request) {
  // The bundles not set aside yet, by group, in the order the groups come.
  std::vector<PlacementGroupId> order;
  std::map<PlacementGroupId, std::vector<std::pair<Key, ResourceSet>>> by_group;
  for (const rpc::BundleSpec& spec : request.bundles()) {
    auto parsed = Parse(spec);
    if (!parsed.ok()) return parsed.status();
    PlacementGroupId group = parsed->first.first;
    if (!by_group.contains(group)) order.push_back(group);
    auto& wanted = by_group[group];
    if (!bundles_.contains(parsed->first)) wanted.push_back(std::move(*parsed));
  }
  rpc::PrepareBundlesReply reply;
  for (const PlacementGroupId& group : order) {
    rpc::PrepareBundlesReply::Result* result = reply.add_results();
    result->set_placement_group_id(group.Binary());
    absl::Status status = PrepareGroup(by_group[group]);
    result->set_success(status.ok());
    if (!status.ok()) result->set_reason(std::string(status.message()));
  }
  return reply;
}

absl::Status BundleManager::PrepareGroup(const std::vector<std::pair<Key, ResourceSet>>& wanted) {
  std::vector<Key> taken;
  for (const auto& [key, resources] : wanted) {
    std::optional<Allocation> reserved = resources_.Allocate(resources);
    if (!reserved) {
      for (const Key& undo : taken) {
        resources_.Release(bundles_[undo].reserved);
        bundles_.erase(undo);
      }
      return absl::ResourceExhaustedError(absl::StrCat("bundle ", key.second, " needs ", resources.ToString(),
                                                       ", this node has ", resources_.available().ToString(),
                                                       " free"));
    }
    bundles_[key] = Bundle{resources, std::move(*reserved), false};
    taken.push_back(key);
  }
  return absl::OkStatus();
}

std::map<std::string, DeviceShares> BundleManager::RenamedDevices(const Key& key, const Bundle& bundle) {
  // The devices the bundle reserved back its renamed unit resources, under both names.
  std::map<std::string, DeviceShares> devices;
  for (const auto& [name, shares] : bundle.reserved.instances) {
    devices[GroupResourceName(name, key.first, key.second)] = shares;
    devices[GroupResourceName(name, key.first, -1)] = shares;
  }
  return devices;
}

absl::Status BundleManager::Commit(const rpc::CommitBundlesRequest& request) {
  std::vector<Key> keys;
  for (const rpc::BundleSpec& spec : request.bundles()) {
    auto parsed = Parse(spec);
    if (!parsed.ok()) return parsed.status();
    if (!bundles_.contains(parsed->first)) {
      return absl::FailedPreconditionError(absl::StrCat("bundle ", spec.index(), " of placement group ",
                                                        parsed->first.first.Hex(), " was not prepared here"));
    }
    keys.push_back(parsed->first);
  }
  for (const Key& key : keys) {
    Bundle& bundle = bundles_[key];
    if (bundle.committed) continue;
    resources_.AddResources(CommittedBundleResources(bundle.resources, key.first, key.second), RenamedDevices(key, bundle));
    bundle.committed = true;
  }
  return absl::OkStatus();
}

void BundleManager::Cancel(const rpc::CancelBundlesRequest& request) {
  std::set<Key> listed;
  for (const rpc::BundleSpec& spec : request.bundles()) {
    auto parsed = Parse(spec);
    if (parsed.ok()) listed.insert(parsed->first);  // nothing was reserved under a malformed spec
  }
  std::vector<Key> keys;
  absl::flat_hash_set<PlacementGroupId> groups_in_use;
  for (const auto& [key, bundle] : bundles_) {
    if (listed.contains(key) == request.all_but_these()) continue;
    keys.push_back(key);
    if (bundle.committed) groups_in_use.insert(key.first);
  }
  if (request.all_but_these() && !keys.empty()) {
    spdlog::info("cancelling {} bundles a restarted GCS does not know of", keys.size());
  }
  // The leases first, so that what they hold is back before the group's resources go.
  for (const PlacementGroupId& group : groups_in_use) end_leases_(group);
  for (const Key& key : keys) {
    Bundle& bundle = bundles_[key];
    if (bundle.committed) {
      resources_.RemoveResources(CommittedBundleResources(bundle.resources, key.first, key.second),
                                 RenamedDevices(key, bundle));
    }
    resources_.Release(bundle.reserved);
    bundles_.erase(key);
  }
}

size_t BundleManager::num_prepared() const {
  size_t count = 0;
  for (const auto& [key, bundle] : bundles_) count += !bundle.committed;
  return count;
}

size_t BundleManager::num_committed() const { return bundles_.size() - num_prepared(); }

void BundleManager::ReportCommitted(rpc::HostedState* state) const {
  for (const auto& [key, bundle] : bundles_) {
    if (!bundle.committed) continue;
    rpc::HostedBundle* hosted = state->add_bundles();
    hosted->set_placement_group_id(key.first.Binary());
    hosted->set_bundle_index(key.second);
  }
}

}  // namespace orrery::raylet
