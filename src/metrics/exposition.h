// Metrics as Prometheus reads them: families of samples, and their text exposition format
// (version 0.0.4, what every Prometheus scrapes and `promtool check metrics` checks).
// https://prometheus.io/docs/instrumenting/exposition_formats/
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace orrery::metrics {

enum class MetricType { kCounter, kGauge, kHistogram };

// Label names and values, in the family's label order.
using Labels = std::vector<std::pair<std::string, std::string>>;

struct Sample {
  Labels labels;
  double value = 0;
};

struct HistogramSample {
  Labels labels;
  std::vector<double> bounds;    // upper bounds, ascending; +Inf is implied
  std::vector<uint64_t> counts;  // observations per bucket (not cumulative), bounds.size() + 1
  double sum = 0;
};

struct Family {
  std::string name;  // orrery_<component>_<thing>_<unit>; counters end in _total
  std::string help;
  MetricType type = MetricType::kGauge;
  std::vector<Sample> samples;              // counters and gauges
  std::vector<HistogramSample> histograms;  // histograms
};

// The families in the text format, in the order given; a family without samples still gets
// its HELP and TYPE lines.
std::string Exposition(const std::vector<Family>& families);

// The content type of that text, for the HTTP response.
inline constexpr char kExpositionContentType[] = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace orrery::metrics
