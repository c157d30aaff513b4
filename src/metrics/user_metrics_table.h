// UserMetricsTable: a raylet's view of its processes' own metrics (user metrics), as each
// process last reported them (cumulative since it started), added up into the families its
// /metrics serves. Every sample is labelled with the node's id and the reporter's job id.
//
// Across processes, counters, sums and histograms add up; a gauge has the value of the process
// that reported it last. A process whose report is overdue (it ended, was killed, or is slow)
// has its gauges left out; what it counted stays, so a counter never goes back. Once it has
// been silent kForgetAfterOverdue times longer, its counts are folded into the node's totals
// and its own entry goes (memory stays bounded as processes come and go); a report of it after
// that is ignored, as it would count twice. The first process to report a name fixes what that
// name is (its kind, tag keys and boundaries); a different declaration elsewhere is not served,
// and logged once. Thread-safe.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "src/metrics/exposition.h"
#include "src/metrics/user_metrics.h"

namespace orrery::metrics {

class UserMetricsTable {
 public:
  using Clock = std::chrono::steady_clock;

  // At most this many names are kept (past it, new names are dropped and logged once).
  static constexpr size_t kMaxNames = 1000;
  // A reporter silent this many overdue periods is folded into the totals and forgotten.
  static constexpr int kForgetAfterOverdue = 10;
  // How many forgotten reporters are remembered, to ignore their late reports.
  static constexpr size_t kMaxForgotten = 4096;

  // Replaces what `reporter` (a worker id) reported before. Unless it reports again within
  // `overdue_after`, its gauges are left out.
  void Update(const std::string& reporter, const std::string& job_id, std::vector<UserMetricSnapshot> metrics,
              std::chrono::milliseconds overdue_after, Clock::time_point now = Clock::now());

  // The families to serve on /metrics, sorted by name.
  std::vector<Family> Families(const std::string& node_id, Clock::time_point now = Clock::now());

  // Metrics of reports not served: invalid, declared otherwise than the first of their name,
  // or past kMaxNames.
  int64_t refused() const;

 private:
  struct Reporter {
    std::string job_id;
    std::vector<UserMetricSnapshot> metrics;
    Clock::time_point overdue;  // its gauges are left out from then on
    Clock::time_point forget;    // and from then on it is folded into the totals
    uint64_t sequence = 0;  // the later report's gauges win
  };
  // A label set: the tag values, then the job id.
  using Key = std::vector<std::string>;

  // Keeps the metrics whose declaration is the name's; false for the others.
  bool Accept(const UserMetricSchema& schema) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FoldSilent(Clock::time_point now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, UserMetricSchema> schemas_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Reporter> reporters_ ABSL_GUARDED_BY(mu_);
  // Per name, what forgotten reporters counted (cumulative kinds only).
  std::map<std::string, std::map<Key, UserMetricPoint>> retired_ ABSL_GUARDED_BY(mu_);
  // Reporters folded into retired_, oldest first (at most kMaxForgotten).
  std::set<std::string> forgotten_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> forgotten_order_ ABSL_GUARDED_BY(mu_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t refused_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<std::string> warned_ ABSL_GUARDED_BY(mu_);  // names refused and logged
};

}  // namespace orrery::metrics
