#include "placement_group_bench.h"

#include <cstdio>
#include <vector>

#include "orrery/api.h"
#include "rate.h"

namespace orrery::bench {

double PlacementGroupCreateRemovalRate() {
  return BestRate(100, 5, [] {
    std::vector<orrery::PlacementGroup> groups;
    groups.reserve(100);
    for (int i = 0; i < 100; ++i) {
      groups.push_back(orrery::CreatePlacementGroup({"", {{{"custom", 0.001}}}, orrery::PlacementStrategy::PACK}));
    }
    for (const auto& group : groups) {
      if (!group.Wait(30)) std::fprintf(stderr, "placement group %s not created in 30 s\n", group.GetID().c_str());
    }
    for (const auto& group : groups) orrery::RemovePlacementGroup(group.GetID());
  });
}

}  // namespace orrery::bench
