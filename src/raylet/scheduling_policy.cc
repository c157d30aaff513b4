#include "src/raylet/scheduling_policy.h"

#include <algorithm>

namespace orrery::raylet {

double Utilization(const NodeSnapshot& node, const ResourceSet& demand) {
  double busiest = 0;
  for (const auto& [name, wanted] : demand.quantities()) {
    FixedPoint total = node.total.Get(name);
    if (total <= FixedPoint()) continue;
    double used = (total - node.available.Get(name)).ToDouble() / total.ToDouble();
    busiest = std::max(busiest, std::min(used, 1.0));
  }
  return busiest;
}

NodeId PickNode(const ResourceSet& demand, const NodeSnapshot& local, const std::vector<NodeSnapshot>& others,
                double spread_threshold) {
  bool local_has_room = demand.IsSubsetOf(local.available);
  double local_utilization = Utilization(local, demand);
  if (local_has_room && local_utilization < spread_threshold) return local.id;
  const NodeSnapshot* best = local_has_room ? &local : nullptr;
  double best_utilization = local_has_room ? local_utilization : 2.0;
  for (const NodeSnapshot& node : others) {
    if (!demand.IsSubsetOf(node.available)) continue;
    double utilization = Utilization(node, demand);
    if (utilization < best_utilization ||
        (utilization == best_utilization && best != &local && node.id.Binary() < best->id.Binary())) {
      best = &node;
      best_utilization = utilization;
    }
  }
  return best == nullptr ? local.id : best->id;
}

NodeId PickSpread(const ResourceSet& demand, const NodeSnapshot& local, const std::vector<NodeSnapshot>& others,
                  uint64_t turn) {
  std::vector<const NodeSnapshot*> least;
  double least_utilization = 2.0;
  auto consider = [&](const NodeSnapshot& node) {
    if (!demand.IsSubsetOf(node.available)) return;
    double utilization = Utilization(node, demand);
    if (utilization < least_utilization) {
      least.clear();
      least_utilization = utilization;
    }
    if (utilization == least_utilization) least.push_back(&node);
  };
  consider(local);
  for (const NodeSnapshot& node : others) consider(node);
  if (least.empty()) return local.id;
  std::sort(least.begin(), least.end(),
            [](const NodeSnapshot* a, const NodeSnapshot* b) { return a->id.Binary() < b->id.Binary(); });
  return least[turn % least.size()]->id;
}

}  // namespace orrery::raylet
