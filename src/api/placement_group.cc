// The public placement-group API (orrery/placement_group.h) and ClusterRuntime's side of it:
// conversions between the public types and the GCS's PlacementGroupInfo.
#include "orrery/placement_group.h"

#include "absl/strings/str_cat.h"
#include "orrery/errors.h"
#include "orrery/internal/runtime.h"
#include "src/api/cluster_runtime.h"
#include "src/api/placement_group_options.h"

namespace orrery {

namespace {

[[noreturn]] void Throw(const std::string& doing, const absl::Status& status) {
  throw OrreryException(absl::StrCat(doing, ": ", status.message()));
}

// The API's states have Ray's C++ values, not the GCS's.
PlacementGroupState StateOf(rpc::PlacementGroupInfo::State state) {
  switch (state) {
    case rpc::PlacementGroupInfo::PENDING:
      return PlacementGroupState::PENDING;
    case rpc::PlacementGroupInfo::PREPARED:
      return PlacementGroupState::PREPARED;
    case rpc::PlacementGroupInfo::CREATED:
      return PlacementGroupState::CREATED;
    case rpc::PlacementGroupInfo::REMOVED:
      return PlacementGroupState::REMOVED;
    case rpc::PlacementGroupInfo::RESCHEDULING:
      return PlacementGroupState::RESCHEDULING;
    default:
      return PlacementGroupState::UNRECOGNIZED;
  }
}

PlacementGroup FromInfo(const rpc::PlacementGroupInfo& info) {
  PlacementGroupCreationOptions options;
  options.name = info.name();
  options.strategy = static_cast<PlacementStrategy>(info.strategy());
  options.detached = info.detached();
  for (const rpc::Bundle& bundle : info.bundles()) {
    options.bundles.push_back(ResourceSet::FromProto(bundle.resources()).value_or(ResourceSet()).ToDoubles());
  }
  return PlacementGroup(PlacementGroupId::FromBinary(info.placement_group_id()).value().Hex(), std::move(options),
                        StateOf(info.state()));
}

}  // namespace

bool PlacementGroup::Wait(int timeout_seconds) const {
  if (Empty()) throw OrreryException("Wait on an empty placement group");
  return internal::RequireRuntime().WaitPlacementGroupReady(id_, static_cast<int64_t>(timeout_seconds) * 1000);
}

PlacementGroup CreatePlacementGroup(const PlacementGroupCreationOptions& options) {
  return internal::RequireRuntime().CreatePlacementGroup(options);
}

void RemovePlacementGroup(const std::string& placement_group_id) {
  internal::RequireRuntime().RemovePlacementGroup(internal::GroupHexOfText(placement_group_id));
}

PlacementGroup GetPlacementGroupById(const std::string& placement_group_id) {
  std::string hex_id = internal::GroupHexOfText(placement_group_id);
  PlacementGroup group = internal::RequireRuntime().FindPlacementGroup(hex_id, /*by_name=*/false);
  if (group.Empty()) throw OrreryException("no placement group " + hex_id);
  return group;
}

PlacementGroup GetPlacementGroup(const std::string& name) {
  if (name.empty()) return PlacementGroup();
  return internal::RequireRuntime().FindPlacementGroup(name, /*by_name=*/true);
}

std::vector<PlacementGroup> GetAllPlacementGroups() { return internal::RequireRuntime().GetAllPlacementGroups(); }

namespace internal {
void ValidateBundleIndex(const PlacementGroup& group, int bundle_index) {
  if (group.Empty()) throw OrreryException("SetPlacementGroup: the placement group is empty");
  int count = static_cast<int>(group.GetBundles().size());
  if (bundle_index < -1 || bundle_index >= count) {
    throw OrreryException(absl::StrCat("SetPlacementGroup: bundle index ", bundle_index, " is out of range: group ",
                                       group.hex_id(), " has ", count, " bundle(s) (-1: any of them)"));
  }
}
}  // namespace internal

namespace api {

PlacementGroupId GroupIdOfHex(const std::string& hex) {
  auto id = PlacementGroupId::FromHex(hex);
  if (!id.ok()) throw OrreryException("not a valid placement group id '" + hex + "': " + std::string(id.status().message()));
  return *id;
}

std::string CreatingGroup(const PlacementGroupCreationOptions& options) {
  return "creating placement group" + (options.name.empty() ? "" : " '" + options.name + "'");
}

std::vector<ResourceSet> CheckedBundles(const PlacementGroupCreationOptions& options) {
  std::string doing = CreatingGroup(options);
  if (options.bundles.empty()) throw OrreryException(doing + ": it needs at least one bundle");
  if (options.strategy < PlacementStrategy::PACK || options.strategy > PlacementStrategy::STRICT_SPREAD) {
    throw OrreryException(absl::StrCat(doing, ": unknown strategy ", static_cast<int>(options.strategy)));
  }
  std::vector<ResourceSet> bundles;
  for (size_t i = 0; i < options.bundles.size(); ++i) {
    auto resources = ResourceSet::FromDoubles(options.bundles[i]);
    if (!resources.ok()) Throw(absl::StrCat(doing, ", bundle ", i), resources.status());
    if (resources->Empty()) throw OrreryException(absl::StrCat(doing, ": bundle ", i, " holds no resource"));
    bundles.push_back(std::move(*resources));
  }
  return bundles;
}

PlacementGroup ClusterRuntime::CreatePlacementGroup(const PlacementGroupCreationOptions& options) {
  std::vector<ResourceSet> bundles = CheckedBundles(options);
  PlacementGroupId id = PlacementGroupId::FromRandom();
  rpc::PlacementGroupInfo info;
  info.set_placement_group_id(id.Binary());
  info.set_name(options.name);
  info.set_strategy(static_cast<rpc::PlacementStrategy>(options.strategy));
  info.set_detached(options.detached);
  for (size_t i = 0; i < bundles.size(); ++i) {
    rpc::Bundle* bundle = info.add_bundles();
    bundle->set_index(static_cast<int>(i));
    bundles[i].ToProto(bundle->mutable_resources());
  }
  if (absl::Status status = core_.CreatePlacementGroup(info); !status.ok()) Throw(CreatingGroup(options), status);
  return PlacementGroup(id.Hex(), options, PlacementGroupState::PENDING);
}

void ClusterRuntime::RemovePlacementGroup(const std::string& id) {
  if (absl::Status status = core_.RemovePlacementGroup(api::GroupIdOfHex(id)); !status.ok()) {
    Throw("removing placement group " + id, status);
  }
}

bool ClusterRuntime::WaitPlacementGroupReady(const std::string& id, int64_t timeout_ms) {
  absl::StatusOr<bool> ready = core_.WaitPlacementGroupReady(api::GroupIdOfHex(id), timeout_ms);
  if (!ready.ok()) Throw("waiting for placement group " + id, ready.status());
  return *ready;
}

PlacementGroup ClusterRuntime::FindPlacementGroup(const std::string& id_or_name, bool by_name) {
  auto info = by_name ? core_.GetNamedPlacementGroup(id_or_name) : core_.GetPlacementGroup(api::GroupIdOfHex(id_or_name));
  if (!info.ok()) Throw("looking up placement group " + id_or_name, info.status());
  return info->has_value() ? FromInfo(**info) : PlacementGroup();
}

std::vector<PlacementGroup> ClusterRuntime::GetAllPlacementGroups() {
  auto infos = core_.GetAllPlacementGroups();
  if (!infos.ok()) Throw("listing placement groups", infos.status());
  std::vector<PlacementGroup> groups;
  for (const rpc::PlacementGroupInfo& info : *infos) groups.push_back(FromInfo(info));
  return groups;
}

}  // namespace api
}  // namespace orrery
