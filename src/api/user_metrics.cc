// orrery::metrics (include/orrery/metrics.h): each metric object is a handle into this
// process's recorder, which the core worker reports to its raylet.
#include <stdexcept>

#include "orrery/metrics.h"
#include "src/metrics/user_metrics.h"

namespace orrery::metrics {

namespace {

UserMetricKind KindOf(Kind kind) {
  switch (kind) {
    case Kind::kCounter:
      return UserMetricKind::kCounter;
    case Kind::kGauge:
      return UserMetricKind::kGauge;
    case Kind::kHistogram:
      return UserMetricKind::kHistogram;
    case Kind::kSum:
      return UserMetricKind::kSum;
  }
  throw std::invalid_argument("unknown metric kind");
}

}  // namespace

Metric::Metric(Kind kind, const std::string& name, const std::string& description,
               const std::vector<std::string>& tag_keys, const std::vector<double>& boundaries)
    : name_(ExportedMetricName(name, KindOf(kind))) {
  absl::StatusOr<int> handle = ProcessUserMetrics().Declare(name, description, KindOf(kind), tag_keys, boundaries);
  if (!handle.ok()) throw std::invalid_argument(std::string(handle.status().message()));
  handle_ = *handle;
}

void Metric::Record(double value, const Tags& tags) const {
  absl::Status recorded = ProcessUserMetrics().Record(handle_, value, tags);
  if (!recorded.ok()) throw std::invalid_argument(std::string(recorded.message()));
}

}  // namespace orrery::metrics
