// RPC metrics of this process, per method: calls by status code and their latency, on the
// server side (every unary call through ServerCalls) and on the client side (every call through
// GrpcClient, labelled with the service called). Kept only once a process that serves /metrics
// (the GCS, a raylet) turns them on: workers and drivers pay nothing for them. Which component
// served a call is the scrape target's `component` label (the targets file's), not the metric's.
//
//   orrery_rpc_server_requests_total{method, code}
//   orrery_rpc_server_latency_seconds{method}              (histogram)
//   orrery_rpc_client_requests_total{service, method, code}
//   orrery_rpc_client_latency_seconds{service, method}     (histogram)
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "src/common/clock.h"
#include "src/metrics/exposition.h"

namespace orrery::rpc {

void EnableRpcMetrics();
bool RpcMetricsEnabled();

// A call this process served, or made to `service`, that ended with `code` after `seconds`.
void RecordServedRpc(const std::string& method, absl::StatusCode code, double seconds);
void RecordMadeRpc(const std::string& service, const std::string& method, absl::StatusCode code, double seconds);

// The method a request message is for: its message name without "Request".
std::string MethodOfRequest(const std::string& request_message_name);
template <typename Req>
const std::string& MethodOf() {
  static const std::string method = MethodOfRequest(Req::descriptor()->name());
  return method;
}


// The four families above, for a component's /metrics.
std::vector<metrics::Family> RpcMetricFamilies();

}  // namespace orrery::rpc
