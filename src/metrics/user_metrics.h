// A program's own metrics (orrery::metrics::Counter and the rest, ray_compat's ray::Gauge...):
// what one process recorded, cumulative since it started, and what its raylet receives of it.
//
// UserMetricRecorder keeps them in the process: a metric is declared by name (declaring it again
// with the same kind, tag keys and boundaries is the same metric, so a task may construct its
// metric on every call), then values are recorded with tag values for some of its tag keys. The
// core worker sends a Snapshot() to its raylet every few seconds (UserMetricsReporter); the
// raylet adds up every process's (UserMetricsTable) and serves them on its /metrics.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "orrery/metrics.h"

namespace orrery::metrics {

// How values recorded add up: a counter adds (never negative), a sum adds (any sign), a gauge
// keeps the latest, a histogram counts each value in its bucket. The public API's kind itself.
using UserMetricKind = Kind;

// One label set of a metric: its tag values (in the metric's tag-key order) and what was
// recorded with them. Counters, sums and gauges use `value`; histograms `bucket_counts`
// (per bucket, not cumulative, one more than the boundaries: the last is +Inf) and `sum`.
struct UserMetricPoint {
  std::vector<std::string> tag_values;
  double value = 0;
  std::vector<uint64_t> bucket_counts;
  double sum = 0;
};

// What a metric is: declared once per process, the same in every process that shares its name.
struct UserMetricSchema {
  std::string name;  // as exported (a counter's ends in _total)
  std::string help;
  UserMetricKind kind = UserMetricKind::kGauge;
  std::vector<std::string> tag_keys;
  std::vector<double> boundaries;  // histograms: ascending upper bounds

  bool operator==(const UserMetricSchema& other) const {
    return name == other.name && kind == other.kind && tag_keys == other.tag_keys && boundaries == other.boundaries;
  }
};

struct UserMetricSnapshot {
  UserMetricSchema schema;
  std::vector<UserMetricPoint> points;
};

// Labels the raylet adds to every user metric's samples: not usable as tag keys.
inline constexpr const char* kReservedTagKeys[] = {"node_id", "job_id", "le"};

// Whether a metric so declared can be served: a Prometheus metric name outside Orrery's own
// orrery_ namespace, distinct tag keys that are Prometheus label names and not reserved,
// finite and strictly ascending boundaries. InvalidArgument naming what is wrong otherwise.
absl::Status CheckSchema(const UserMetricSchema& schema);

// The name a metric is exported under: characters Prometheus does not allow in a name become
// '_' (Ray's names may have dots), and a counter's gets the `_total` Prometheus expects.
std::string ExportedMetricName(const std::string& name, UserMetricKind kind);

class UserMetricRecorder {
 public:
  // The metric `name` (its handle for Record). InvalidArgument naming what is wrong: an empty
  // name, or one in Orrery's own `orrery_` namespace; a tag key that is not a Prometheus label
  // name or is reserved; histogram boundaries not strictly ascending; the name declared before
  // with another kind, other tag keys or other boundaries.
  absl::StatusOr<int> Declare(const std::string& name, const std::string& help, UserMetricKind kind,
                              const std::vector<std::string>& tag_keys, const std::vector<double>& boundaries);

  // Records `value` with these tags (keys the metric's; a key left out has the value "").
  // InvalidArgument for a tag key the metric was not declared with, a negative counter
  // increment, or a value that is not a number. A metric's label sets past the cap
  // (kMaxChildren) are recorded under "other".
  absl::Status Record(int handle, double value, const std::unordered_map<std::string, std::string>& tags);

  // Every metric recorded at least once, with its points (cumulative since the process began).
  std::vector<UserMetricSnapshot> Snapshot() const;

 private:
  struct Metric {
    UserMetricSchema schema;
    absl::flat_hash_map<std::vector<std::string>, UserMetricPoint> points;
  };

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Metric>> metrics_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int> by_name_ ABSL_GUARDED_BY(mu_);
};

// This process's recorder (the public API's metrics record into it).
UserMetricRecorder& ProcessUserMetrics();

// The histogram bucket `value` falls in, of boundaries.size() + 1 (the last is +Inf).
size_t BucketOf(const std::vector<double>& boundaries, double value);

}  // namespace orrery::metrics
