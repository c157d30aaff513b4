// A figure measured in the same run under two settings (TLS off and on, metrics off and on),
// each the median of its rounds, and the ratio that says what the second setting costs.
#pragma once

#include <string>
#include <vector>

#include "grpc_floor.h"
#include "rate.h"

namespace orrery::bench {

// Calls measure(false) and measure(true) `rounds` times each, alternately and each first in
// turn, so that neither a slow spell of the machine nor the order favours one setting.
template <typename Measure>
void MeasureAlternately(int rounds, Measure measure) {
  for (int round = 0; round < rounds; ++round) {
    const bool second_first = round % 2 == 1;
    measure(second_first);
    measure(!second_first);
  }
}

// Reports NAME_<BASE_SUFFIX> and NAME_<OTHER_SUFFIX> (the medians, in `unit`) and RATIO,
// other / base. Each list holds one figure per round (not empty).
inline void ReportComparison(const Reporter& report, const std::string& name, const std::string& ratio,
                             const std::string& base_suffix, const std::vector<double>& base,
                             const std::string& other_suffix, const std::vector<double>& other, const char* unit) {
  const double base_median = Median(base), other_median = Median(other);
  report(name + "_" + base_suffix, base_median, unit);
  report(name + "_" + other_suffix, other_median, unit);
  report(ratio, other_median / base_median, "ratio");
}

}  // namespace orrery::bench
