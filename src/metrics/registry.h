// Registry: one process's metrics. Counters, gauges and histograms kept here are updated where
// things happen (With(labels) once, then Inc/Set/Observe: an atomic add); collectors compute
// gauges of state that lives elsewhere (a component's tables on its event loop) when scraped.
// Thread-safe.
//
//   auto& started = registry.AddCounter("orrery_raylet_worker_starts_total", "Workers started", {});
//   started.With({}).Inc();
//
// Label values are bounded: past a family's first kMaxChildren label sets, new ones are counted
// under the value "other" for every label, so a label fed by user input (function names)
// cannot grow a scrape without bound.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "src/metrics/exposition.h"

namespace orrery::metrics {

inline constexpr size_t kMaxChildren = 500;
inline constexpr char kOverflowLabel[] = "other";

class CounterChild {
 public:
  void Inc(double amount = 1) { value_.fetch_add(amount, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class GaugeChild {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class HistogramChild {
 public:
  explicit HistogramChild(const std::vector<double>& bounds) : bounds_(bounds), counts_(bounds.size() + 1) {}
  void Observe(double value);
  // Counts per bucket (not cumulative) and the sum, read one after another (a scrape racing an
  // Observe may see it in one and not the other, as Prometheus clients allow).
  HistogramSample Read() const;

 private:
  const std::vector<double>& bounds_;
  std::vector<std::atomic<uint64_t>> counts_;
  std::atomic<double> sum_{0};
};

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, MetricType type, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), type_(type), label_names_(std::move(label_names)) {}
  virtual ~FamilyBase() = default;
  virtual Family Snapshot() const = 0;

 protected:
  Family Header() const { return Family{name_, help_, type_, {}, {}}; }
  Labels LabelsOf(const std::vector<std::string>& values) const;
  // The key a label set is kept under (as many values as label names), and the one label sets
  // past kMaxChildren share.
  std::vector<std::string> KeyFor(const std::vector<std::string>& values) const;
  std::vector<std::string> OverflowKey() const { return std::vector<std::string>(label_names_.size(), kOverflowLabel); }

 private:
  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
};

// The children of a family, one per label set, made on first use and never freed (a child's
// address stays valid: callers keep it).
template <typename Child>
class LabeledFamily : public FamilyBase {
 public:
  using FamilyBase::FamilyBase;

  // The child for these label values (as many as the family has label names).
  Child& With(const std::vector<std::string>& values) {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> key = KeyFor(values);
    auto it = children_.find(key);
    if (it == children_.end()) {
      if (children_.size() >= kMaxChildren) key = OverflowKey();
      it = children_.find(key);
      if (it == children_.end()) it = children_.emplace(std::move(key), Make()).first;
    }
    return *it->second;
  }

 protected:
  virtual std::unique_ptr<Child> Make() const = 0;
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    absl::MutexLock lock(&mu_);
    for (const auto& [values, child] : children_) fn(LabelsOf(values), *child);
  }

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::vector<std::string>, std::unique_ptr<Child>> children_ ABSL_GUARDED_BY(mu_);
};

class CounterFamily : public LabeledFamily<CounterChild> {
 public:
  CounterFamily(std::string name, std::string help, std::vector<std::string> label_names)
      : LabeledFamily(std::move(name), std::move(help), MetricType::kCounter, std::move(label_names)) {}
  Family Snapshot() const override;

 protected:
  std::unique_ptr<CounterChild> Make() const override { return std::make_unique<CounterChild>(); }
};

class GaugeFamily : public LabeledFamily<GaugeChild> {
 public:
  GaugeFamily(std::string name, std::string help, std::vector<std::string> label_names)
      : LabeledFamily(std::move(name), std::move(help), MetricType::kGauge, std::move(label_names)) {}
  Family Snapshot() const override;

 protected:
  std::unique_ptr<GaugeChild> Make() const override { return std::make_unique<GaugeChild>(); }
};

class HistogramFamily : public LabeledFamily<HistogramChild> {
 public:
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds)
      : LabeledFamily(std::move(name), std::move(help), MetricType::kHistogram, std::move(label_names)),
        bounds_(std::move(bounds)) {}
  Family Snapshot() const override;

 protected:
  std::unique_ptr<HistogramChild> Make() const override { return std::make_unique<HistogramChild>(bounds_); }

 private:
  const std::vector<double> bounds_;
};

// Bucket bounds for latencies, in seconds: 100 µs to 60 s.
std::vector<double> LatencyBounds();

class Registry {
 public:
  // Each name is added once (a second add of a name is a programming error: it aborts).
  CounterFamily& AddCounter(std::string name, std::string help, std::vector<std::string> label_names);
  GaugeFamily& AddGauge(std::string name, std::string help, std::vector<std::string> label_names);
  HistogramFamily& AddHistogram(std::string name, std::string help, std::vector<std::string> label_names,
                                std::vector<double> bounds);
  // Families computed at each scrape, appended after the kept ones.
  using Collector = std::function<void(std::vector<Family>& out)>;
  void AddCollector(Collector collector);

  std::vector<Family> Collect() const;
  std::string Render() const { return Exposition(Collect()); }

 private:
  void Keep(std::unique_ptr<FamilyBase> family, const std::string& name);

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<FamilyBase>> families_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> names_ ABSL_GUARDED_BY(mu_);
  std::vector<Collector> collectors_ ABSL_GUARDED_BY(mu_);
};

}  // namespace orrery::metrics
