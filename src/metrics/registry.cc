#include "src/metrics/registry.h"

#include <algorithm>
#include <cstdlib>

#include "spdlog/spdlog.h"
#include "src/metrics/user_metrics.h"

namespace orrery::metrics {

void HistogramChild::Observe(double value) {
  counts_[BucketOf(bounds_, value)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

HistogramSample HistogramChild::Read() const {
  HistogramSample sample;
  sample.bounds = bounds_;
  for (const auto& count : counts_) sample.counts.push_back(count.load(std::memory_order_relaxed));
  sample.sum = sum_.load(std::memory_order_relaxed);
  return sample;
}

Labels FamilyBase::LabelsOf(const std::vector<std::string>& values) const {
  Labels labels;
  for (size_t i = 0; i < label_names_.size() && i < values.size(); ++i) labels.emplace_back(label_names_[i], values[i]);
  return labels;
}

std::vector<std::string> FamilyBase::KeyFor(const std::vector<std::string>& values) const {
  std::vector<std::string> key = values;
  key.resize(label_names_.size());
  return key;
}

Family CounterFamily::Snapshot() const {
  Family family = Header();
  ForEach([&](Labels labels, const CounterChild& child) { family.samples.push_back({std::move(labels), child.value()}); });
  return family;
}

Family GaugeFamily::Snapshot() const {
  Family family = Header();
  ForEach([&](Labels labels, const GaugeChild& child) { family.samples.push_back({std::move(labels), child.value()}); });
  return family;
}

Family HistogramFamily::Snapshot() const {
  Family family = Header();
  ForEach([&](Labels labels, const HistogramChild& child) {
    HistogramSample sample = child.Read();
    sample.labels = std::move(labels);
    family.histograms.push_back(std::move(sample));
  });
  return family;
}

std::vector<double> LatencyBounds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

void Registry::Keep(std::unique_ptr<FamilyBase> family, const std::string& name) {
  absl::MutexLock lock(&mu_);
  if (std::find(names_.begin(), names_.end(), name) != names_.end()) {
    spdlog::critical("metric {} added twice", name);
    std::abort();
  }
  names_.push_back(name);
  families_.push_back(std::move(family));
}

CounterFamily& Registry::AddCounter(std::string name, std::string help, std::vector<std::string> label_names) {
  auto family = std::make_unique<CounterFamily>(name, std::move(help), std::move(label_names));
  CounterFamily& kept = *family;
  Keep(std::move(family), name);
  return kept;
}

GaugeFamily& Registry::AddGauge(std::string name, std::string help, std::vector<std::string> label_names) {
  auto family = std::make_unique<GaugeFamily>(name, std::move(help), std::move(label_names));
  GaugeFamily& kept = *family;
  Keep(std::move(family), name);
  return kept;
}

HistogramFamily& Registry::AddHistogram(std::string name, std::string help, std::vector<std::string> label_names,
                                        std::vector<double> bounds) {
  std::sort(bounds.begin(), bounds.end());
  auto family = std::make_unique<HistogramFamily>(name, std::move(help), std::move(label_names), std::move(bounds));
  HistogramFamily& kept = *family;
  Keep(std::move(family), name);
  return kept;
}

void Registry::AddCollector(Collector collector) {
  absl::MutexLock lock(&mu_);
  collectors_.push_back(std::move(collector));
}

std::vector<Family> Registry::Collect() const {
  std::vector<Collector> collectors;
  std::vector<Family> out;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& family : families_) out.push_back(family->Snapshot());
    collectors = collectors_;
  }
  // Outside the lock: a collector may wait for an event loop that is adding a family.
  for (const Collector& collect : collectors) collect(out);
  return out;
}

}  // namespace orrery::metrics
