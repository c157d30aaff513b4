// NodeResources: what this node has and what is free, in fixed point. Unit resources (GPUs)
// are also tracked per instance, so a lease is handed concrete device ids.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "src/common/resource_set.h"

namespace orrery::raylet {

// Instances of a unit resource as (device id, amount): GPU 3, or half of it.
using DeviceShares = std::vector<std::pair<int, FixedPoint>>;

// What one lease holds: the quantities, and for unit resources which devices (with how much
// of each, since a lease may take half a GPU).
struct Allocation {
  ResourceSet resources;
  std::map<std::string, DeviceShares> instances;

  // Device ids of `resource`, sorted.
  std::vector<int> InstanceIds(const std::string& resource) const;
  // Device ids of `resource` and of the placement-group resources renamed from it (the GPUs of
  // a lease in a bundle), sorted, each once.
  std::vector<int> DevicesOf(const std::string& resource) const;
};

// Owned and called by the raylet event loop only.
class NodeResources {
 public:
  // `unit_resources` are split by instance (each instance holds 1): GPU by default.
  explicit NodeResources(ResourceSet total, std::vector<std::string> unit_resources = {kGpu});

  // A demand this node could hold if it were idle, with a reason when it could not.
  absl::Status CheckFeasible(const ResourceSet& demand) const;
  // Checks the shape of a demand on a unit resource: fractions only up to 1, whole numbers above.
  static absl::Status ValidateDemand(const ResourceSet& demand, const std::vector<std::string>& unit_resources = {kGpu});

  // Takes `demand` if it is free now.
  std::optional<Allocation> Allocate(const ResourceSet& demand);
  void Release(const Allocation& allocation);

  // A blocked worker lends its lease's CPUs back to the node, and takes them back when it
  // unblocks (available may then go negative until something finishes).
  void Lend(const ResourceSet& resources) { available_ += resources; }
  void Reclaim(const ResourceSet& resources) { available_ -= resources; }

  // A committed placement-group bundle adds its renamed resources to the node (total and
  // available), and takes them away when it goes. A renamed unit resource ("GPU_group_0_<id>")
  // is a unit resource too, whose instances are the devices (and shares) the bundle reserved:
  // `devices` names them per renamed resource.
  void AddResources(const ResourceSet& resources, const std::map<std::string, DeviceShares>& devices = {});
  void RemoveResources(const ResourceSet& resources, const std::map<std::string, DeviceShares>& devices = {});

  const ResourceSet& total() const { return total_; }
  const ResourceSet& available() const { return available_; }

 private:
  // The instances of one unit resource: each one's device id and free amount.
  struct Units {
    std::vector<int> devices;
    std::vector<FixedPoint> free;
  };
  bool IsUnit(const std::string& name) const { return units_.contains(name); }

  ResourceSet total_;
  ResourceSet available_;
  std::map<std::string, Units> units_;
};

}  // namespace orrery::raylet
