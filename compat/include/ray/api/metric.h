/// Ray's metrics (ray::Gauge, ray::Counter, ray::Histogram, ray::Sum): declared, tag keys and
/// all, as in Ray. Orrery does not export a program's own metrics yet: recording is accepted and
/// the value dropped, with one log line per process saying so.
#pragma once

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "orrery/internal/user_log.h"

namespace ray {

class Metric {
 public:
  virtual ~Metric() = default;
  std::string GetName() const { return name_; }
  /// Records `value` with these tags (dropped, see above).
  void Record(double /*value*/, const std::unordered_map<std::string, std::string>& /*tags*/) {
    orrery::internal::DropUserMetric(name_);
  }

 protected:
  Metric(std::string name, std::string description, std::string unit, std::vector<std::string> tag_keys)
      : name_(std::move(name)),
        description_(std::move(description)),
        unit_(std::move(unit)),
        tag_keys_(std::move(tag_keys)) {}

  std::string name_;
  std::string description_;
  std::string unit_;
  std::vector<std::string> tag_keys_;
};

/// The latest value of something (a queue's length).
class Gauge : public Metric {
 public:
  Gauge(const std::string& name, const std::string& description, const std::string& unit,
        const std::vector<std::string>& tag_keys = {})
      : Metric(name, description, unit, tag_keys) {}
  void Set(double value, const std::unordered_map<std::string, std::string>& tags) { Record(value, tags); }
};

/// How values spread over the bucket boundaries given.
class Histogram : public Metric {
 public:
  Histogram(const std::string& name, const std::string& description, const std::string& unit,
            const std::vector<double> boundaries, const std::vector<std::string>& tag_keys = {})
      : Metric(name, description, unit, tag_keys), boundaries_(boundaries) {}
  void Observe(double value, const std::unordered_map<std::string, std::string>& tags) { Record(value, tags); }

 private:
  std::vector<double> boundaries_;
};

/// A count that only grows.
class Counter : public Metric {
 public:
  Counter(const std::string& name, const std::string& description, const std::string& unit,
          const std::vector<std::string>& tag_keys = {})
      : Metric(name, description, unit, tag_keys) {}
  void Inc(double value, const std::unordered_map<std::string, std::string>& tags) { Record(value, tags); }
};

/// A sum of the values recorded.
class Sum : public Metric {
 public:
  Sum(const std::string& name, const std::string& description, const std::string& unit,
      const std::vector<std::string>& tag_keys = {})
      : Metric(name, description, unit, tag_keys) {}
};

}  // namespace ray
