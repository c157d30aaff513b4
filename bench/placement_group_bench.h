// orrery-microbench's placement-group figure, with Ray's definition (BENCHMARKS.md in the shared
// design folder): groups created, awaited and removed on the running cluster.
#pragma once

namespace orrery::bench {

// placement_group_create_removal on the running cluster, which must offer {custom: 100}: 100
// groups of one {custom: 0.001} bundle created, each awaited (Wait(30)), all removed; groups
// per second over the whole, the best of 5 rounds.
double PlacementGroupCreateRemovalRate();

}  // namespace orrery::bench
