// UserMetricsReporter: sends what this process recorded of its own metrics (the process's
// UserMetricRecorder: orrery::metrics, ray::Gauge...) to its raylet, every period and when the
// process stops. Each report is the whole of it, cumulative, so a lost one costs nothing but
// freshness; the raylet takes a process silent for three periods to have ended. A process that
// recorded nothing sends nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "orrery/node_manager.pb.h"
#include "src/common/id.h"
#include "src/metrics/user_metrics.h"

namespace orrery::core {

// The period, ORRERY_METRICS_REPORT_INTERVAL_MS in the environment or 5 s (Ray's agent's).
int64_t UserMetricsReportIntervalMs();

class UserMetricsReporter {
 public:
  // Sends one report and waits for its answer (from the reporter's own thread).
  using Send = std::function<absl::Status(const rpc::ReportMetricsRequest&)>;

  UserMetricsReporter(metrics::UserMetricRecorder& recorder, const WorkerId& worker, const JobId& job,
                      int64_t interval_ms, Send send);
  ~UserMetricsReporter() { Stop(); }

  void Start();
  // Sends a report now (when anything was recorded).
  void Flush();
  // Ends the thread after a last report. Idempotent.
  void Stop();

 private:
  void Run();

  metrics::UserMetricRecorder& recorder_;
  const WorkerId worker_;
  const JobId job_;
  const int64_t interval_ms_;
  const Send send_;
  absl::Mutex send_mu_;  // one report at a time: a later one never overtakes an earlier one
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace orrery::core
