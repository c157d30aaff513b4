// Timing helpers shared by orrery-microbench's parts.
#pragma once

#include <algorithm>
#include <chrono>

namespace orrery::bench {

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The best of `repeats` runs of `body`, as units per second for `units` units each.
template <typename Body>
double BestRate(double units, int repeats, Body body) {
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    auto start = Clock::now();
    body();
    best = std::max(best, units / Seconds(Clock::now() - start));
  }
  return best;
}

}  // namespace orrery::bench
