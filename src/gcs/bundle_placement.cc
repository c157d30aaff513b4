#include "src/gcs/bundle_placement.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"

namespace orrery::gcs {

namespace {

// How full `node` is for `demand`: the largest used fraction among the resources asked for.
double Utilization(const NodeRoom& node, const ResourceSet& demand) {
  double busiest = 0;
  for (const auto& [name, wanted] : demand.quantities()) {
    FixedPoint total = node.total.Get(name);
    if (total <= FixedPoint()) continue;
    busiest = std::max(busiest, (total - node.available.Get(name)).ToDouble() / total.ToDouble());
  }
  return busiest;
}

// The node with room for `demand` that `better` prefers (least used first, then by id), or null.
template <typename Prefer>
NodeRoom* Choose(std::vector<NodeRoom>& nodes, const ResourceSet& demand, Prefer prefer) {
  NodeRoom* best = nullptr;
  for (NodeRoom& node : nodes) {
    if (!demand.IsSubsetOf(node.available)) continue;
    if (best == nullptr || prefer(node, *best)) best = &node;
  }
  return best;
}

bool LessUsed(const NodeRoom& a, const NodeRoom& b, const ResourceSet& demand) {
  double ua = Utilization(a, demand), ub = Utilization(b, demand);
  if (ua != ub) return ua < ub;
  return a.id < b.id;
}

absl::Status CannotPlace(const std::vector<NodeRoom>& nodes, const ResourceSet& demand, const std::string& what) {
  bool could_ever = std::any_of(nodes.begin(), nodes.end(),
                                [&](const NodeRoom& node) { return demand.IsSubsetOf(node.total); });
  if (!could_ever) {
    return absl::FailedPreconditionError(absl::StrCat("no node has ", demand.ToString(), " in total (", what, ")"));
  }
  return absl::ResourceExhaustedError(absl::StrCat("no node has ", demand.ToString(), " free now (", what, ")"));
}

}  // namespace

absl::StatusOr<std::vector<NodeId>> PlaceBundles(const std::vector<ResourceSet>& bundles,
                                                 const std::vector<NodeId>& placed,
                                                 rpc::PlacementStrategy strategy, std::vector<NodeRoom> nodes) {
  std::vector<NodeId> out = placed;
  out.resize(bundles.size());
  // How many of the group's bundles each node holds.
  std::map<NodeId, int> used;
  for (const NodeId& node : out) {
    if (!node.IsNil()) ++used[node];
  }
  std::vector<size_t> unplaced;
  for (size_t i = 0; i < bundles.size(); ++i) {
    if (out[i].IsNil()) unplaced.push_back(i);
  }

  if (strategy == rpc::STRICT_PACK) {
    ResourceSet sum;
    for (size_t i : unplaced) sum += bundles[i];
    NodeRoom* target = nullptr;
    if (!used.empty()) {
      NodeId home = used.begin()->first;
      for (NodeRoom& node : nodes) {
        if (node.id == home && sum.IsSubsetOf(node.available)) target = &node;
      }
      if (target == nullptr) {
        return absl::ResourceExhaustedError(
            absl::StrCat("STRICT_PACK: node ", home.Hex(), " holding the group has no room for ", sum.ToString()));
      }
    } else {
      target = Choose(nodes, sum, [&](const NodeRoom& a, const NodeRoom& b) { return LessUsed(a, b, sum); });
      if (target == nullptr) return CannotPlace(nodes, sum, "STRICT_PACK puts every bundle on one node");
    }
    for (size_t i : unplaced) out[i] = target->id;
    return out;
  }

  for (size_t i : unplaced) {
    const ResourceSet& demand = bundles[i];
    auto uses = [&](const NodeRoom& node) {
      auto it = used.find(node.id);
      return it == used.end() ? 0 : it->second;
    };
    NodeRoom* target = nullptr;
    switch (strategy) {
      case rpc::PACK:
        // Most of the group's bundles first, then the least used.
        target = Choose(nodes, demand, [&](const NodeRoom& a, const NodeRoom& b) {
          if (uses(a) != uses(b)) return uses(a) > uses(b);
          return LessUsed(a, b, demand);
        });
        break;
      case rpc::SPREAD:
        target = Choose(nodes, demand, [&](const NodeRoom& a, const NodeRoom& b) {
          if (uses(a) != uses(b)) return uses(a) < uses(b);
          return LessUsed(a, b, demand);
        });
        break;
      case rpc::STRICT_SPREAD:
        target = Choose(nodes, demand, [&](const NodeRoom& a, const NodeRoom& b) {
          if ((uses(a) == 0) != (uses(b) == 0)) return uses(a) == 0;
          return LessUsed(a, b, demand);
        });
        if (target != nullptr && uses(*target) > 0) target = nullptr;
        if (target == nullptr) {
          size_t could = static_cast<size_t>(std::count_if(nodes.begin(), nodes.end(), [&](const NodeRoom& node) {
            return demand.IsSubsetOf(node.total);
          }));
          std::string what = absl::StrCat("STRICT_SPREAD needs ", bundles.size(), " nodes, ", could,
                                          " could hold bundle ", i);
          if (could < bundles.size()) return absl::FailedPreconditionError(what);
          return absl::ResourceExhaustedError(what + ", not enough have room now");
        }
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat("unknown placement strategy ", static_cast<int>(strategy)));
    }
    if (target == nullptr) return CannotPlace(nodes, demand, absl::StrCat("bundle ", i));
    target->available -= demand;
    ++used[target->id];
    out[i] = target->id;
  }
  return out;
}

}  // namespace orrery::gcs
