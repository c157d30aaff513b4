#include "src/metrics/user_metrics.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/metrics/registry.h"

namespace orrery::metrics {

namespace {

bool IsNameChar(char c, bool first) {
  bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  return letter || (!first && c >= '0' && c <= '9');
}

absl::Status CheckTagKey(const std::string& metric, const std::string& key) {
  bool valid = !key.empty() && !absl::StartsWith(key, "__");
  for (size_t i = 0; valid && i < key.size(); ++i) valid = IsNameChar(key[i], i == 0);
  if (!valid) {
    return absl::InvalidArgumentError(absl::StrCat("metric ", metric, ": tag key '", key,
                                                   "' is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, "
                                                   "not starting with __)"));
  }
  if (std::find(std::begin(kReservedTagKeys), std::end(kReservedTagKeys), key) != std::end(kReservedTagKeys)) {
    return absl::InvalidArgumentError(
        absl::StrCat("metric ", metric, ": tag key '", key, "' is reserved (the raylet labels every sample with it)"));
  }
  return absl::OkStatus();
}

const char* KindName(UserMetricKind kind) {
  switch (kind) {
    case UserMetricKind::kCounter:
      return "counter";
    case UserMetricKind::kGauge:
      return "gauge";
    case UserMetricKind::kHistogram:
      return "histogram";
    case UserMetricKind::kSum:
      return "sum";
  }
  return "?";
}

std::string Describe(const UserMetricSchema& schema) {
  std::string described = absl::StrCat(KindName(schema.kind), " with tag keys [", absl::StrJoin(schema.tag_keys, ", "), "]");
  if (schema.kind == UserMetricKind::kHistogram) {
    absl::StrAppend(&described, " and boundaries [", absl::StrJoin(schema.boundaries, ", "), "]");
  }
  return described;
}

}  // namespace

std::string ExportedMetricName(const std::string& name, UserMetricKind kind) {
  std::string exported = name;
  for (size_t i = 0; i < exported.size(); ++i) {
    if (!IsNameChar(exported[i], i == 0) && exported[i] != ':') exported[i] = '_';
  }
  if (kind == UserMetricKind::kCounter && !absl::EndsWith(exported, "_total")) exported += "_total";
  return exported;
}

size_t BucketOf(const std::vector<double>& boundaries, double value) {
  return std::lower_bound(boundaries.begin(), boundaries.end(), value) - boundaries.begin();
}

absl::Status CheckSchema(const UserMetricSchema& schema) {
  const std::string& name = schema.name;
  bool valid_name = !name.empty();
  for (size_t i = 0; valid_name && i < name.size(); ++i) valid_name = IsNameChar(name[i], i == 0) || name[i] == ':';
  if (!valid_name) return absl::InvalidArgumentError(absl::StrCat("'", name, "' is not a Prometheus metric name"));
  if (absl::StartsWith(name, "orrery_")) {
    return absl::InvalidArgumentError(absl::StrCat("metric ", name, ": names starting with orrery_ are Orrery's own"));
  }
  const std::vector<std::string>& keys = schema.tag_keys;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (absl::Status valid = CheckTagKey(name, keys[i]); !valid.ok()) return valid;
    if (std::find(keys.begin(), keys.begin() + i, keys[i]) != keys.begin() + i) {
      return absl::InvalidArgumentError(absl::StrCat("metric ", name, ": tag key '", keys[i], "' given twice"));
    }
  }
  const std::vector<double>& bounds = schema.boundaries;
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      return absl::InvalidArgumentError(absl::StrCat("histogram ", name, ": boundaries must be finite and strictly "
                                                     "ascending, got [", absl::StrJoin(bounds, ", "), "]"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> UserMetricRecorder::Declare(const std::string& name, const std::string& help,
                                                UserMetricKind kind, const std::vector<std::string>& tag_keys,
                                                const std::vector<double>& boundaries) {
  if (name.empty()) return absl::InvalidArgumentError("a metric needs a name");
  UserMetricSchema schema{ExportedMetricName(name, kind), help, kind, tag_keys,
                          kind == UserMetricKind::kHistogram ? boundaries : std::vector<double>()};
  if (absl::Status valid = CheckSchema(schema); !valid.ok()) return valid;
  absl::MutexLock lock(&mu_);
  if (auto it = by_name_.find(schema.name); it != by_name_.end()) {
    const UserMetricSchema& earlier = metrics_[it->second]->schema;
    if (earlier == schema) return it->second;
    return absl::InvalidArgumentError(absl::StrCat("metric ", name, " is already a ", Describe(earlier),
                                                   " in this process; declared again as a ", Describe(schema)));
  }
  metrics_.push_back(std::make_unique<Metric>(Metric{std::move(schema), {}}));
  int handle = static_cast<int>(metrics_.size()) - 1;
  by_name_[metrics_.back()->schema.name] = handle;
  return handle;
}

absl::Status UserMetricRecorder::Record(int handle, double value,
                                        const std::unordered_map<std::string, std::string>& tags) {
  absl::MutexLock lock(&mu_);
  if (handle < 0 || handle >= static_cast<int>(metrics_.size())) {
    return absl::InvalidArgumentError(absl::StrCat("no metric has handle ", handle));
  }
  Metric& metric = *metrics_[handle];
  const UserMetricSchema& schema = metric.schema;
  if (std::isnan(value)) return absl::InvalidArgumentError(absl::StrCat("metric ", schema.name, ": NaN recorded"));
  if (schema.kind == UserMetricKind::kCounter && value < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("counter ", schema.name, ": increments cannot be negative (got ", value, ")"));
  }
  std::vector<std::string> key(schema.tag_keys.size());
  for (const auto& [tag, tag_value] : tags) {
    auto at = std::find(schema.tag_keys.begin(), schema.tag_keys.end(), tag);
    if (at == schema.tag_keys.end()) {
      return absl::InvalidArgumentError(absl::StrCat("metric ", schema.name, " has no tag key '", tag,
                                                     "' (its tag keys: [", absl::StrJoin(schema.tag_keys, ", "), "])"));
    }
    key[at - schema.tag_keys.begin()] = tag_value;
  }
  auto point = metric.points.find(key);
  if (point == metric.points.end()) {
    if (metric.points.size() >= kMaxChildren) key.assign(key.size(), kOverflowLabel);
    point = metric.points.try_emplace(key).first;
    point->second.tag_values = key;
    if (schema.kind == UserMetricKind::kHistogram) point->second.bucket_counts.assign(schema.boundaries.size() + 1, 0);
  }
  UserMetricPoint& recorded = point->second;
  switch (schema.kind) {
    case UserMetricKind::kCounter:
    case UserMetricKind::kSum:
      recorded.value += value;
      break;
    case UserMetricKind::kGauge:
      recorded.value = value;
      break;
    case UserMetricKind::kHistogram:
      ++recorded.bucket_counts[BucketOf(schema.boundaries, value)];
      recorded.sum += value;
      break;
  }
  return absl::OkStatus();
}

std::vector<UserMetricSnapshot> UserMetricRecorder::Snapshot() const {
  absl::MutexLock lock(&mu_);
  std::vector<UserMetricSnapshot> snapshot;
  for (const auto& metric : metrics_) {
    if (metric->points.empty()) continue;
    UserMetricSnapshot& taken = snapshot.emplace_back();
    taken.schema = metric->schema;
    for (const auto& [key, point] : metric->points) taken.points.push_back(point);
  }
  return snapshot;
}

UserMetricRecorder& ProcessUserMetrics() {
  static auto* recorder = new UserMetricRecorder();  // never destroyed: used until the process ends
  return *recorder;
}

}  // namespace orrery::metrics
