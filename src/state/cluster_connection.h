// A connection to a running cluster's GCS, and how calls through it fail: what the CLI's
// commands and the dashboard's API (in the GCS itself) share to read the cluster's state.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "src/gcs/client/gcs_client.h"
#include "src/rpc/grpc_client.h"

namespace orrery::state {

struct ClusterConnection {
  std::string address;  // HOST:PORT of the GCS
  std::string token;
  // For clients of the GCS's other services, over gcs->client().channel().
  rpc::ClientOptions options;
  std::unique_ptr<gcs::GrpcGcsClient> gcs;
};

// A connection to the GCS at `address` with `token`, over the process's TLS settings; it
// checks nothing (the first call says whether the GCS answers and takes the token).
ClusterConnection ConnectTo(const std::string& address, const std::string& token,
                            const rpc::RpcOptions& rpc = rpc::RpcOptions());

// One line for a failed call to the cluster at `address`: the server's own message when it
// answered (it names what was wrong), else what kept the call from reaching it.
std::string DescribeCallError(const absl::Status& status, const std::string& address);

// How long a call to the GCS may take, unless it says otherwise.
constexpr int64_t kCallGcsTimeoutMs = 10'000;

// One unary call to a service of the cluster's GCS (over its channel), within `timeout_ms`;
// its error is one line (DescribeCallError), with the call's status code.
template <typename Service, typename Req, typename Reply>
absl::StatusOr<Reply> CallGcs(const ClusterConnection& cluster,
                              typename rpc::GrpcClient<Service>::template AsyncMethod<Req, Reply> method,
                              const Req& request, int64_t timeout_ms = kCallGcsTimeoutMs) {
  rpc::GrpcClient<Service> client(cluster.gcs->client().channel(), cluster.options);
  rpc::CallOptions options;
  options.timeout_ms = timeout_ms;
  auto reply = client.CallSync(method, request, options);
  if (!reply.ok()) reply = absl::Status(reply.status().code(), DescribeCallError(reply.status(), cluster.address));
  return reply;
}

}  // namespace orrery::state
