#include "src/core_worker/user_metrics_reporter.h"

#include <cstdlib>
#include <string>

#include "src/common/log.h"
#include "src/metrics/user_metrics_wire.h"

namespace orrery::core {

int64_t UserMetricsReportIntervalMs() {
  constexpr int64_t kDefaultMs = 5000;
  const char* set = std::getenv("ORRERY_METRICS_REPORT_INTERVAL_MS");
  if (set == nullptr) return kDefaultMs;
  char* end = nullptr;
  long long value = std::strtoll(set, &end, 10);
  if (end == set || *end != '\0' || value <= 0) {
    spdlog::warn("ORRERY_METRICS_REPORT_INTERVAL_MS={} is not a positive number of milliseconds: using {}", set,
                 kDefaultMs);
    return kDefaultMs;
  }
  return value;
}

UserMetricsReporter::UserMetricsReporter(metrics::UserMetricRecorder& recorder, const WorkerId& worker,
                                         const JobId& job, int64_t interval_ms, Send send)
    : recorder_(recorder), worker_(worker), job_(job), interval_ms_(interval_ms), send_(std::move(send)) {}

void UserMetricsReporter::Start() { thread_ = std::thread([this] { Run(); }); }

void UserMetricsReporter::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(interval_ms_));
    if (stopping_) break;
    mu_.Unlock();
    Flush();
    mu_.Lock();
  }
}

void UserMetricsReporter::Flush() {
  absl::MutexLock lock(&send_mu_);
  std::vector<metrics::UserMetricSnapshot> snapshot = recorder_.Snapshot();
  if (snapshot.empty()) return;
  rpc::ReportMetricsRequest request;
  request.set_worker_id(worker_.Binary());
  request.set_job_id(job_.Binary());
  request.set_interval_ms(interval_ms_);
  metrics::ToWire(snapshot, request.mutable_metrics());
  if (absl::Status sent = send_(request); !sent.ok()) {
    spdlog::debug("reporting this process's metrics to its raylet: {}", sent.message());
  }
}

void UserMetricsReporter::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  Flush();
}

}  // namespace orrery::core
