/// A program's own metrics, from drivers, tasks and actors alike, served with Orrery's on each
/// node's raylet /metrics for Prometheus (docs/metrics.md):
///
///   orrery::metrics::Counter requests("requests", "Requests handled", {"route"});
///   requests.Inc(1, {{"route", "/predict"}});
///   orrery::metrics::Histogram latency("request_seconds", "Request latency", {0.01, 0.1, 1}, {"route"});
///   latency.Observe(0.042, {{"route", "/predict"}});
///
/// Tag keys are fixed when a metric is made; each Record gives values for some of them (a key
/// left out has the value ""). Making a metric of the same name again (say in every call of a
/// task) is the same metric, as long as its kind, tag keys and boundaries are the same. Each
/// process sends what it recorded to its raylet every 5 s and when it ends; the raylet adds up
/// its processes' (a gauge: the latest value) and labels every sample with the node and job id.
/// In local mode values are recorded and not exported.
///
/// Errors throw std::invalid_argument naming what was wrong: a name in Orrery's own `orrery_`
/// namespace, a tag key that is not a Prometheus label name (or is node_id, job_id or le), the
/// name made before as another kind, boundaries not strictly ascending, a tag key the metric
/// does not have, a negative counter increment.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "orrery/export.h"

namespace orrery::metrics {

/// Tag values by tag key.
using Tags = std::unordered_map<std::string, std::string>;

enum class Kind { kCounter, kGauge, kHistogram, kSum };

class ORRERY_EXPORT Metric {
 public:
  /// The name it is exported under (characters Prometheus does not allow become '_'; a
  /// counter's ends in _total).
  const std::string& name() const { return name_; }
  /// Records `value` with these tags: a counter or a sum adds it, a gauge takes it as its
  /// value, a histogram counts it in its bucket.
  void Record(double value, const Tags& tags = {}) const;

 protected:
  Metric(Kind kind, const std::string& name, const std::string& description, const std::vector<std::string>& tag_keys,
         const std::vector<double>& boundaries = {});

 private:
  std::string name_;
  int handle_;
};

/// A count that only grows (requests served, bytes read).
class ORRERY_EXPORT Counter : public Metric {
 public:
  Counter(const std::string& name, const std::string& description, const std::vector<std::string>& tag_keys = {})
      : Metric(Kind::kCounter, name, description, tag_keys) {}
  void Inc(double amount = 1, const Tags& tags = {}) const { Record(amount, tags); }
};

/// The latest value of something (a queue's length, a loss).
class ORRERY_EXPORT Gauge : public Metric {
 public:
  Gauge(const std::string& name, const std::string& description, const std::vector<std::string>& tag_keys = {})
      : Metric(Kind::kGauge, name, description, tag_keys) {}
  void Set(double value, const Tags& tags = {}) const { Record(value, tags); }
};

/// How values spread over buckets with these upper bounds (ascending; +Inf is implied).
class ORRERY_EXPORT Histogram : public Metric {
 public:
  Histogram(const std::string& name, const std::string& description, const std::vector<double>& boundaries,
            const std::vector<std::string>& tag_keys = {})
      : Metric(Kind::kHistogram, name, description, tag_keys, boundaries) {}
  void Observe(double value, const Tags& tags = {}) const { Record(value, tags); }
};

/// A running total of values of either sign (exported as a gauge: it may go down).
class ORRERY_EXPORT Sum : public Metric {
 public:
  Sum(const std::string& name, const std::string& description, const std::vector<std::string>& tag_keys = {})
      : Metric(Kind::kSum, name, description, tag_keys) {}
  void Add(double value, const Tags& tags = {}) const { Record(value, tags); }
};

}  // namespace orrery::metrics
