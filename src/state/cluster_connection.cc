#include "src/state/cluster_connection.h"

namespace orrery::state {

ClusterConnection ConnectTo(const std::string& address, const std::string& token, const rpc::RpcOptions& rpc) {
  ClusterConnection connection;
  connection.address = address;
  connection.token = token;
  connection.options = rpc::ClientOptions{"GCS at " + address, token, rpc};
  connection.gcs = std::make_unique<gcs::GrpcGcsClient>(address, connection.options);
  return connection;
}

std::string DescribeCallError(const absl::Status& status, const std::string& address) {
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
      return "the cluster at " + address + " refused the token";
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return "cannot reach the cluster at " + address + ": " + std::string(status.message());
    default:
      // gRPC's own errors (such as a method the server lacks) may come without a message.
      if (status.message().empty()) {
        return "the cluster at " + address + " answered " + absl::StatusCodeToString(status.code());
      }
      return std::string(status.message());
  }
}

}  // namespace orrery::state
