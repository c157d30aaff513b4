#include "src/raylet/node_resources.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "src/common/placement_group.h"

namespace orrery::raylet {

std::vector<int> Allocation::InstanceIds(const std::string& resource) const {
  std::vector<int> ids;
  auto it = instances.find(resource);
  if (it == instances.end()) return ids;
  for (const auto& [id, amount] : it->second) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<int> Allocation::DevicesOf(const std::string& resource) const {
  std::vector<int> ids;
  for (const auto& [name, shares] : instances) {
    if (OriginalResourceOf(name) != resource) continue;
    for (const auto& [id, amount] : shares) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

NodeResources::NodeResources(ResourceSet total, std::vector<std::string> unit_resources)
    : total_(total), available_(total) {
  for (const std::string& name : unit_resources) {
    int64_t count = std::max<int64_t>(total_.Get(name).Floor(), 0);
    Units& units = units_[name];
    for (int id = 0; id < count; ++id) {
      units.devices.push_back(id);
      units.free.push_back(FixedPoint::FromInt(1));
    }
  }
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
    const std::vector<FixedPoint>& free = units_[name].free;
    std::vector<std::pair<int, FixedPoint>> chosen;  // (instance index, amount)
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
  for (auto& [name, chosen] : allocation.instances) {
    Units& units = units_[name];
    for (auto& [index, amount] : chosen) {
      units.free[static_cast<size_t>(index)] -= amount;
      index = units.devices[static_cast<size_t>(index)];  // the allocation names devices
    }
  }
  allocation.resources = demand;
  available_ -= demand;
  return allocation;
}

void NodeResources::Release(const Allocation& allocation) {
  available_ += allocation.resources;
  for (const auto& [name, shares] : allocation.instances) {
    Units& units = units_[name];
    for (const auto& [device, amount] : shares) {
      auto it = std::find(units.devices.begin(), units.devices.end(), device);
      if (it != units.devices.end()) units.free[static_cast<size_t>(it - units.devices.begin())] += amount;
    }
  }
}

void NodeResources::AddResources(const ResourceSet& resources, const std::map<std::string, DeviceShares>& devices) {
  total_ += resources;
  available_ += resources;
  for (const auto& [name, shares] : devices) {
    Units& units = units_[name];
    for (const auto& [device, amount] : shares) {
      units.devices.push_back(device);
      units.free.push_back(amount);
    }
  }
}

void NodeResources::RemoveResources(const ResourceSet& resources, const std::map<std::string, DeviceShares>& devices) {
  total_ -= resources;
  available_ -= resources;
  // The bundle's leases are gone first, so each of its instances is whole again: drop them.
  for (const auto& [name, shares] : devices) {
    auto units = units_.find(name);
    if (units == units_.end()) continue;
    for (const auto& [device, amount] : shares) {
      auto it = std::find(units->second.devices.begin(), units->second.devices.end(), device);
      if (it == units->second.devices.end()) continue;
      units->second.free.erase(units->second.free.begin() + (it - units->second.devices.begin()));
      units->second.devices.erase(it);
    }
    if (units->second.devices.empty()) units_.erase(units);
  }
}

}  // namespace orrery::raylet
