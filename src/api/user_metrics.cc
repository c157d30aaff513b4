// orrery::metrics (include/orrery/metrics.h): each metric object is a handle into this
// process's recorder, which the core worker reports to its raylet.
#include <stdexcept>

#include "orrery/metrics.h"
#include "src/metrics/user_metrics.h"

namespace orrery::metrics {

Metric::Metric(Kind kind, const std::string& name, const std::string& description,
               const std::vector<std::string>& tag_keys, const std::vector<double>& boundaries)
    : name_(ExportedMetricName(name, kind)) {
  absl::StatusOr<int> handle = ProcessUserMetrics().Declare(name, description, kind, tag_keys, boundaries);
  if (!handle.ok()) throw std::invalid_argument(std::string(handle.status().message()));
  handle_ = *handle;
}

void Metric::Record(double value, const Tags& tags) const {
  absl::Status recorded = ProcessUserMetrics().Record(handle_, value, tags);
  if (!recorded.ok()) throw std::invalid_argument(std::string(recorded.message()));
}

}  // namespace orrery::metrics
