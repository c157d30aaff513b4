// Timing helpers shared by orrery-microbench's parts.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace orrery::bench {

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Whether a part measuring these figures runs: every part does, or with $ORRERY_BENCH_FILTER
// set, those with a figure whose name contains it (one figure at a time, for profiling).
inline bool Wanted(std::initializer_list<std::string_view> names) {
  const char* filter = std::getenv("ORRERY_BENCH_FILTER");
  if (filter == nullptr) return true;
  return std::any_of(names.begin(), names.end(),
                     [&](std::string_view name) { return name.find(filter) != std::string_view::npos; });
}

// The median of `values` (not empty).
inline double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

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
