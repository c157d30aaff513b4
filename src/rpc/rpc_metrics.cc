#include "src/rpc/rpc_metrics.h"

#include <atomic>

#include "absl/strings/match.h"
#include "src/metrics/registry.h"

namespace orrery::rpc {

namespace {

std::atomic<bool> g_enabled{false};

struct RpcFamilies {
  metrics::Registry registry;
  metrics::CounterFamily& server_requests = registry.AddCounter(
      "orrery_rpc_server_requests_total", "RPC calls served, by method and status code", {"method", "code"});
  metrics::HistogramFamily& server_latency =
      registry.AddHistogram("orrery_rpc_server_latency_seconds", "Time from receiving an RPC call to answering it",
                            {"method"}, metrics::LatencyBounds());
  metrics::CounterFamily& client_requests = registry.AddCounter(
      "orrery_rpc_client_requests_total", "RPC calls made, by method and status code (after retries)",
      {"service", "method", "code"});
  metrics::HistogramFamily& client_latency =
      registry.AddHistogram("orrery_rpc_client_latency_seconds", "Time from making an RPC call to its answer (retries included)",
                            {"service", "method"}, metrics::LatencyBounds());
};

RpcFamilies& Families() {
  static auto* families = new RpcFamilies();  // never destroyed: calls may end during exit
  return *families;
}

}  // namespace

void EnableRpcMetrics() { g_enabled.store(true, std::memory_order_relaxed); }
bool RpcMetricsEnabled() { return g_enabled.load(std::memory_order_relaxed); }

void RecordServedRpc(const std::string& method, absl::StatusCode code, double seconds) {
  if (!RpcMetricsEnabled()) return;
  Families().server_requests.With({method, absl::StatusCodeToString(code)}).Inc();
  Families().server_latency.With({method}).Observe(seconds);
}

void RecordMadeRpc(const std::string& service, const std::string& method, absl::StatusCode code, double seconds) {
  if (!RpcMetricsEnabled()) return;
  Families().client_requests.With({service, method, absl::StatusCodeToString(code)}).Inc();
  Families().client_latency.With({service, method}).Observe(seconds);
}

std::string MethodOfRequest(const std::string& request_message_name) {
  constexpr absl::string_view kSuffix = "Request";
  if (absl::EndsWith(request_message_name, kSuffix) && request_message_name.size() > kSuffix.size()) {
    return request_message_name.substr(0, request_message_name.size() - kSuffix.size());
  }
  return request_message_name;
}

std::vector<metrics::Family> RpcMetricFamilies() { return Families().registry.Collect(); }

}  // namespace orrery::rpc
