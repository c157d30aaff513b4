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
      "orrery_rpc_server_requests_total", "RPC calls served, by method and status code", {"component", "method", "code"});
  metrics::HistogramFamily& server_latency =
      registry.AddHistogram("orrery_rpc_server_latency_seconds", "Time from receiving an RPC call to answering it",
                            {"component", "method"}, metrics::LatencyBounds());
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

void RecordRpc(RpcSide side, const std::string& scope, const std::string& method, absl::StatusCode code,
               double seconds) {
  if (!RpcMetricsEnabled()) return;
  RpcFamilies& families = Families();
  bool server = side == RpcSide::kServer;
  (server ? families.server_requests : families.client_requests).With({scope, method, absl::StatusCodeToString(code)}).Inc();
  (server ? families.server_latency : families.client_latency).With({scope, method}).Observe(seconds);
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
