#include "src/api/local_node.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "orrery/errors.h"
#include "src/api/placement_group_options.h"

namespace orrery::api {

LocalNode::LocalNode(NodeId id, ResourceSet resources, std::function<void()> on_change)
    : id_(id), resources_(std::move(resources)), on_change_(std::move(on_change)) {}

bool LocalNode::CanHold(const ResourceSet& demand) const {
  std::lock_guard<std::mutex> lock(mu_);
  return demand.IsSubsetOf(resources_ + committed_);
}

bool LocalNode::FitsLocked(const Group& group) const {
  if (group.options.strategy == PlacementStrategy::STRICT_SPREAD && group.bundles.size() > 1) return false;
  ResourceSet wanted;
  for (const ResourceSet& bundle : group.bundles) wanted += bundle;
  return (reserved_ + wanted).IsSubsetOf(resources_);
}

bool LocalNode::PlaceLocked() {
  bool placed = false;
  for (Group& group : groups_) {
    if (group.state != PlacementGroupState::PENDING || !FitsLocked(group)) continue;
    for (size_t i = 0; i < group.bundles.size(); ++i) {
      reserved_ += group.bundles[i];
      committed_ += CommittedBundleResources(group.bundles[i], group.id, static_cast<int>(i));
    }
    group.state = PlacementGroupState::CREATED;
    placed = true;
  }
  return placed;
}

PlacementGroup LocalNode::Create(const PlacementGroupCreationOptions& options) {
  Group group{PlacementGroupId::FromRandom(), options, CheckedBundles(options)};
  bool placed;
  PlacementGroup created;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!options.name.empty() && FindLocked(options.name, /*by_name=*/true) != nullptr) {
      throw OrreryException(absl::StrCat(CreatingGroup(options), ": a placement group named '", options.name,
                                         "' already exists"));
    }
    groups_.push_back(std::move(group));
    placed = PlaceLocked();
    created = Public(groups_.back());
  }
  changed_.notify_all();
  if (placed && on_change_) on_change_();
  return created;
}

void LocalNode::Remove(const std::string& id_hex) {
  PlacementGroupId id = GroupIdOfHex(id_hex);
  {
    std::lock_guard<std::mutex> lock(mu_);
    Group* group = nullptr;
    for (Group& candidate : groups_) {
      if (candidate.id == id) group = &candidate;
    }
    if (group == nullptr) throw OrreryException("removing placement group " + id_hex + ": no such group");
    if (group->state == PlacementGroupState::REMOVED) return;
    if (group->state == PlacementGroupState::CREATED) {
      for (size_t i = 0; i < group->bundles.size(); ++i) {
        reserved_ -= group->bundles[i];
        committed_ -= CommittedBundleResources(group->bundles[i], group->id, static_cast<int>(i));
      }
    }
    group->state = PlacementGroupState::REMOVED;
    PlaceLocked();
  }
  changed_.notify_all();
  if (on_change_) on_change_();
}

bool LocalNode::WaitReady(const std::string& id_hex, int64_t timeout_ms) {
  GroupIdOfHex(id_hex);  // a malformed id throws
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max<int64_t>(0, timeout_ms));
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    const Group* group = FindLocked(id_hex, /*by_name=*/false);
    if (group == nullptr) throw OrreryException("waiting for placement group " + id_hex + ": no such group");
    if (group->state == PlacementGroupState::REMOVED) {
      throw OrreryException("waiting for placement group " + id_hex + ": it was removed");
    }
    if (group->state == PlacementGroupState::CREATED) return true;
    if (stopped_ || changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      group = FindLocked(id_hex, /*by_name=*/false);
      return group != nullptr && group->state == PlacementGroupState::CREATED;
    }
  }
}

const LocalNode::Group* LocalNode::FindLocked(const std::string& id_or_name, bool by_name) const {
  for (const Group& group : groups_) {
    if (by_name ? group.options.name == id_or_name && group.state != PlacementGroupState::REMOVED
                : group.id.Hex() == id_or_name) {
      return &group;
    }
  }
  return nullptr;
}

PlacementGroup LocalNode::Find(const std::string& id_or_name, bool by_name) const {
  if (!by_name) GroupIdOfHex(id_or_name);  // a malformed id throws, as in cluster mode
  std::lock_guard<std::mutex> lock(mu_);
  const Group* group = FindLocked(id_or_name, by_name);
  return group == nullptr ? PlacementGroup() : Public(*group);
}

std::vector<PlacementGroup> LocalNode::All() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PlacementGroup> all;
  for (const Group& group : groups_) all.push_back(Public(group));
  return all;
}

bool LocalNode::IsRemoved(const PlacementGroupId& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const Group& group : groups_) {
    if (group.id == id) return group.state == PlacementGroupState::REMOVED;
  }
  return false;
}

void LocalNode::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
  }
  changed_.notify_all();
}

PlacementGroup LocalNode::Public(const Group& group) {
  return PlacementGroup(group.id.Hex(), group.options, group.state);
}

}  // namespace orrery::api
