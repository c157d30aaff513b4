#include "src/metrics/user_metrics_table.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "src/metrics/registry.h"

namespace orrery::metrics {

namespace {

bool Cumulative(UserMetricKind kind) { return kind != UserMetricKind::kGauge; }

// Adds what `from` counted into `into` (counters, sums, histograms).
void AddInto(UserMetricPoint& into, const UserMetricPoint& from) {
  into.value += from.value;
  into.sum += from.sum;
  if (into.bucket_counts.size() < from.bucket_counts.size()) into.bucket_counts.resize(from.bucket_counts.size());
  for (size_t i = 0; i < from.bucket_counts.size(); ++i) into.bucket_counts[i] += from.bucket_counts[i];
}

MetricType TypeOf(UserMetricKind kind) {
  switch (kind) {
    case UserMetricKind::kCounter:
      return MetricType::kCounter;
    case UserMetricKind::kHistogram:
      return MetricType::kHistogram;
    case UserMetricKind::kGauge:
    case UserMetricKind::kSum:  // may go down: not a Prometheus counter
      return MetricType::kGauge;
  }
  return MetricType::kGauge;
}

}  // namespace

bool UserMetricsTable::Accept(const UserMetricSchema& schema) {
  // What a process sends is checked as its recorder checks it: a name or label that would
  // break the exposition text never reaches it.
  std::string why_not;
  if (absl::Status valid = CheckSchema(schema); !valid.ok()) {
    why_not = std::string(valid.message());
  } else if (auto it = schemas_.find(schema.name); it != schemas_.end()) {
    if (it->second == schema) return true;
    why_not = "reported with another kind, tag keys or boundaries than it was first declared with";
  } else if (schemas_.size() >= kMaxNames) {
    why_not = absl::StrCat("this node already serves ", kMaxNames, " user metrics");
  } else {
    schemas_.emplace(schema.name, schema);
    return true;
  }
  ++refused_;
  // Once per name: a reporter repeats itself every few seconds.
  if (warned_.size() < kMaxNames && warned_.insert(schema.name).second) {
    spdlog::warn("user metric {} not served: {}", schema.name, why_not);
  }
  return false;
}

void UserMetricsTable::Update(const std::string& reporter, const std::string& job_id,
                              std::vector<UserMetricSnapshot> metrics, std::chrono::milliseconds overdue_after,
                              Clock::time_point now) {
  absl::MutexLock lock(&mu_);
  if (forgotten_.contains(reporter)) return;  // its counts are in the totals already
  metrics.erase(std::remove_if(metrics.begin(), metrics.end(),
                               [this](const UserMetricSnapshot& metric) { return !Accept(metric.schema); }),
                metrics.end());
  Reporter& entry = reporters_[reporter];
  entry.job_id = job_id;
  entry.metrics = std::move(metrics);
  entry.overdue = now + overdue_after;
  entry.forget = now + kForgetAfterOverdue * overdue_after;
  entry.sequence = next_sequence_++;
}

void UserMetricsTable::FoldSilent(Clock::time_point now) {
  for (auto it = reporters_.begin(); it != reporters_.end();) {
    if (it->second.forget > now) {
      ++it;
      continue;
    }
    for (const UserMetricSnapshot& metric : it->second.metrics) {
      if (!Cumulative(metric.schema.kind)) continue;
      auto& totals = retired_[metric.schema.name];
      for (const UserMetricPoint& point : metric.points) {
        Key key = point.tag_values;
        key.push_back(it->second.job_id);
        AddInto(totals[key], point);
      }
    }
    forgotten_.insert(it->first);
    forgotten_order_.push_back(it->first);
    if (forgotten_order_.size() > kMaxForgotten) {
      forgotten_.erase(forgotten_order_.front());
      forgotten_order_.pop_front();
    }
    it = reporters_.erase(it);
  }
}

std::vector<Family> UserMetricsTable::Families(const std::string& node_id, Clock::time_point now) {
  absl::MutexLock lock(&mu_);
  FoldSilent(now);
  // Per name, per label set: the points added up, and for gauges the sequence of the report.
  struct Merged {
    UserMetricPoint point;
    uint64_t sequence = 0;
  };
  std::map<std::string, std::map<Key, Merged>> merged;
  auto slot = [](std::map<Key, Merged>& points, Key key) -> Merged& {
    if (points.size() >= kMaxChildren && !points.contains(key)) key.assign(key.size(), kOverflowLabel);
    return points[key];
  };
  for (const auto& [name, totals] : retired_) {
    for (const auto& [key, point] : totals) AddInto(slot(merged[name], key).point, point);
  }
  for (const auto& [reporter, entry] : reporters_) {
    for (const UserMetricSnapshot& metric : entry.metrics) {
      // An overdue process's gauges say what was, not what is.
      if (!Cumulative(metric.schema.kind) && entry.overdue <= now) continue;
      auto& points = merged[metric.schema.name];
      for (const UserMetricPoint& point : metric.points) {
        Key key = point.tag_values;
        key.push_back(entry.job_id);
        Merged& into = slot(points, std::move(key));
        if (Cumulative(metric.schema.kind)) {
          AddInto(into.point, point);
        } else if (into.sequence <= entry.sequence) {
          into.point.value = point.value;
          into.sequence = entry.sequence;
        }
      }
    }
  }
  std::vector<Family> families;
  for (const auto& [name, points] : merged) {
    const UserMetricSchema& schema = schemas_.at(name);
    Family& family = families.emplace_back();
    family.name = name;
    family.help = schema.help.empty() ? "A program's own metric" : schema.help;
    family.type = TypeOf(schema.kind);
    for (const auto& [key, merged_point] : points) {
      Labels labels;
      for (size_t i = 0; i < schema.tag_keys.size() && i < key.size(); ++i) labels.emplace_back(schema.tag_keys[i], key[i]);
      labels.emplace_back("job_id", key.back());
      labels.emplace_back("node_id", node_id);
      if (schema.kind == UserMetricKind::kHistogram) {
        std::vector<uint64_t> counts = merged_point.point.bucket_counts;
        counts.resize(schema.boundaries.size() + 1);
        family.histograms.push_back({std::move(labels), schema.boundaries, std::move(counts), merged_point.point.sum});
      } else {
        family.samples.push_back({std::move(labels), merged_point.point.value});
      }
    }
  }
  return families;
}

int64_t UserMetricsTable::refused() const {
  absl::MutexLock lock(&mu_);
  return refused_;
}

}  // namespace orrery::metrics
