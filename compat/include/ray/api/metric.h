/// Ray's metrics (ray::Gauge, ray::Counter, ray::Histogram, ray::Sum), as Ray declares them,
/// over Orrery's own (orrery/metrics.h): recorded values reach the node's raylet and its
/// /metrics for Prometheus. Ray's `unit` goes into the metric's help text. A name with
/// characters Prometheus does not allow (Ray's may have dots) is exported with '_' in their
/// place; a counter's gets `_total`.
#pragma once

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "orrery/metrics.h"

namespace ray {

class Metric {
 public:
  virtual ~Metric() = default;
  std::string GetName() const { return name_; }
  /// Records `value` with these tags (keys among the metric's tag keys).
  void Record(double value, const std::unordered_map<std::string, std::string>& tags) { metric_.Record(value, tags); }

 protected:
  Metric(orrery::metrics::Kind kind, const std::string& name, const std::string& description,
         const std::string& unit, const std::vector<std::string>& tag_keys, const std::vector<double>& boundaries = {})
      : name_(name), metric_(kind, name, HelpOf(description, unit), tag_keys, boundaries) {}

 private:
  // orrery::metrics::Metric's constructor is protected: made here through a subclass.
  struct Made : orrery::metrics::Metric {
    Made(orrery::metrics::Kind kind, const std::string& name, const std::string& help,
         const std::vector<std::string>& tag_keys, const std::vector<double>& boundaries)
        : orrery::metrics::Metric(kind, name, help, tag_keys, boundaries) {}
  };
  static std::string HelpOf(const std::string& description, const std::string& unit) {
    return unit.empty() ? description : description + " (" + unit + ")";
  }

  std::string name_;
  Made metric_;
};

/// The latest value of something (a queue's length).
class Gauge : public Metric {
 public:
  Gauge(const std::string& name, const std::string& description, const std::string& unit,
        const std::vector<std::string>& tag_keys = {})
      : Metric(orrery::metrics::Kind::kGauge, name, description, unit, tag_keys) {}
  void Set(double value, const std::unordered_map<std::string, std::string>& tags) { Record(value, tags); }
};

/// How values spread over the bucket boundaries given.
class Histogram : public Metric {
 public:
  Histogram(const std::string& name, const std::string& description, const std::string& unit,
            const std::vector<double> boundaries, const std::vector<std::string>& tag_keys = {})
      : Metric(orrery::metrics::Kind::kHistogram, name, description, unit, tag_keys, boundaries) {}
  void Observe(double value, const std::unordered_map<std::string, std::string>& tags) { Record(value, tags); }
};

/// A count that only grows.
class Counter : public Metric {
 public:
  Counter(const std::string& name, const std::string& description, const std::string& unit,
          const std::vector<std::string>& tag_keys = {})
      : Metric(orrery::metrics::Kind::kCounter, name, description, unit, tag_keys) {}
  void Inc(double value, const std::unordered_map<std::string, std::string>& tags) { Record(value, tags); }
};

/// A sum of the values recorded.
class Sum : public Metric {
 public:
  Sum(const std::string& name, const std::string& description, const std::string& unit,
      const std::vector<std::string>& tag_keys = {})
      : Metric(orrery::metrics::Kind::kSum, name, description, unit, tag_keys) {}
};

}  // namespace ray
