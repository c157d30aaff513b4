#include "src/common/placement_group.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace orrery {

namespace {
constexpr const char kBundleMarker[] = "bundle";
}  // namespace

std::string GroupResourceName(const std::string& resource, const PlacementGroupId& group, int bundle_index) {
  if (bundle_index < 0) return absl::StrCat(resource, "_group_", group.Hex());
  return absl::StrCat(resource, "_group_", bundle_index, "_", group.Hex());
}

ResourceSet GroupDemand(const ResourceSet& demand, const PlacementGroupId& group, int bundle_index) {
  ResourceSet renamed;
  for (const auto& [name, amount] : demand.quantities()) {
    renamed.Set(GroupResourceName(name, group, bundle_index), amount);
  }
  renamed.Set(GroupResourceName(kBundleMarker, group, bundle_index), FixedPoint::FromDouble(kBundleMarkerShare));
  return renamed;
}

ResourceSet CommittedBundleResources(const ResourceSet& bundle, const PlacementGroupId& group, int bundle_index) {
  ResourceSet added;
  for (const auto& [name, amount] : bundle.quantities()) {
    added.Set(GroupResourceName(name, group, bundle_index), amount);
    added.Set(GroupResourceName(name, group, -1), amount);
  }
  added.Set(GroupResourceName(kBundleMarker, group, bundle_index), FixedPoint::FromInt(kBundleMarkerUnits));
  added.Set(GroupResourceName(kBundleMarker, group, -1), FixedPoint::FromInt(kBundleMarkerUnits));
  return added;
}

std::optional<PlacementGroupId> GroupOfResource(const std::string& resource) {
  constexpr size_t kHexId = 2 * PlacementGroupId::kSize;
  if (resource.size() <= kHexId || resource[resource.size() - kHexId - 1] != '_') return std::nullopt;
  for (size_t i = resource.size() - kHexId; i < resource.size(); ++i) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(resource[i]))) return std::nullopt;
  }
  if (!absl::StrContains(resource, "_group_")) return std::nullopt;
  auto id = PlacementGroupId::FromHex(absl::string_view(resource).substr(resource.size() - kHexId));
  if (!id.ok()) return std::nullopt;
  return *id;
}

std::string OriginalResourceOf(const std::string& resource) {
  if (!IsAnyGroupResource(resource)) return resource;
  // "<name>_group[_<index>]_<hex>": drop the id, then the index, then "_group".
  std::string rest = resource.substr(0, resource.size() - 2 * PlacementGroupId::kSize - 1);
  if (size_t last = rest.rfind('_'); last != std::string::npos && last + 1 < rest.size() &&
                                     std::all_of(rest.begin() + last + 1, rest.end(), absl::ascii_isdigit)) {
    if (absl::EndsWith(absl::string_view(rest).substr(0, last), "_group")) rest.resize(last);
  }
  constexpr absl::string_view kGroup = "_group";
  return absl::EndsWith(rest, kGroup) ? rest.substr(0, rest.size() - kGroup.size()) : resource;
}

}  // namespace orrery
