#include "src/raylet/node_resources.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace orrery::raylet {

std::vector<int> Allocation::InstanceIds(const std::string& resource) const {
  std::vector<int> ids;
  auto it = instances.find(resource);
  if (it == instances.end()) return ids;
  for (const auto& [id, amount] : it->second) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

NodeResources::NodeResources(ResourceSet total, std::vector<std::string> unit_resources)
    : total_(total), available_(total), unit_resources_(std::move(unit_resources)) {
  for (const std::string& name : unit_resources_) {
    int64_t count = total_.Get(name).Floor();
    free_instances_[name] = std::vector<FixedPoint>(static_cast<size_t>(std::max<int64_t>(count, 0)),
                                                    FixedPoint::FromInt(1));
  }
}

bool NodeResources::IsUnit(const std::string& name) const {
  return std::find(unit_resources_.begin(), unit_resources_.end(), name) != unit_resources_.end();
}

absl::Status NodeResources::ValidateDemand(const ResourceSet& demand, const std::vector<std::string>& unit_resources) {
  for (const auto& [name, amount] : demand.quantities()) {
    if (std::find(unit_resources.begin(), unit_resources.end(), name) == unit_resources.end()) continue;
    if (amount > FixedPoint::FromInt(1) && !amount.IsWhole()) {
      return absl::InvalidArgumentError(absl::StrCat("resource ", name, " = ", amount.ToString(),
                                                     ": above 1 it must be a whole number of instances"));
    }
  }
  return absl::OkStatus();
}

absl::Status NodeResources::CheckFeasible(const ResourceSet& demand) const {
  for (const auto& [name, amount] : demand.quantities()) {
    if (amount > total_.Get(name)) {
      return absl::ResourceExhaustedError(
          absl::StrCat("needs ", name, ": ", amount.ToString(), ", this node has ", total_.Get(name).ToString()));
    }
  }
  return absl::OkStatus();
}

std::optional<Allocation> NodeResources::Allocate(const ResourceSet& demand) {
  if (!demand.IsSubsetOf(available_)) return std::nullopt;
  Allocation allocation;
  // Choose instances first, touching nothing until every unit resource fits.
  for (const auto& [name, amount] : demand.quantities()) {
    if (!IsUnit(name)) continue;
    const std::vector<FixedPoint>& free = free_instances_[name];
    std::vector<std::pair<int, FixedPoint>> chosen;
    if (amount <= FixedPoint::FromInt(1)) {
      // Best fit: the instance with the least room that still holds it, to keep whole ones free.
      int best = -1;
      for (size_t i = 0; i < free.size(); ++i) {
        if (free[i] >= amount && (best < 0 || free[i] < free[static_cast<size_t>(best)])) best = static_cast<int>(i);
      }
      if (best < 0) return std::nullopt;
      chosen.emplace_back(best, amount);
    } else {
      int64_t needed = amount.Floor();
      for (size_t i = 0; i < free.size() && static_cast<int64_t>(chosen.size()) < needed; ++i) {
        if (free[i] == FixedPoint::FromInt(1)) chosen.emplace_back(static_cast<int>(i), FixedPoint::FromInt(1));
      }
      if (static_cast<int64_t>(chosen.size()) < needed) return std::nullopt;
    }
    allocation.instances[name] = std::move(chosen);
  }
  for (const auto& [name, chosen] : allocation.instances) {
    for (const auto& [index, amount] : chosen) free_instances_[name][static_cast<size_t>(index)] -= amount;
  }
  allocation.resources = demand;
  available_ -= demand;
  return allocation;
}

void NodeResources::Release(const Allocation& allocation) {
  available_ += allocation.resources;
  for (const auto& [name, chosen] : allocation.instances) {
    for (const auto& [index, amount] : chosen) free_instances_[name][static_cast<size_t>(index)] += amount;
  }
}

void NodeResources::AddResources(const ResourceSet& resources) {
  total_ += resources;
  available_ += resources;
}

void NodeResources::RemoveResources(const ResourceSet& resources) {
  total_ -= resources;
  available_ -= resources;
}

}  // namespace orrery::raylet
