#include "src/cli/cluster_connection.h"

#include "src/common/status.h"
#include "src/launcher/local_cluster.h"
#include "src/rpc/cluster_tls.h"

namespace orrery::cli {

void AddClusterFlags(CLI::App& command, ClusterFlags& flags) {
  command.add_option("--address", flags.address, "HOST:PORT of the GCS (or ORRERY_ADDRESS; default: local session)");
  command.add_option("--token", flags.token, "Cluster token (or ORRERY_TOKEN; default: local session)");
  command.add_option("--temp-dir", flags.temp_dir, "Root whose newest session to use");
}

absl::StatusOr<ClusterConnection> ConnectToCluster(const ClusterFlags& flags) {
  auto target = launcher::ResolveCluster(flags.address, flags.token, flags.temp_dir);
  if (!target.ok()) return target.status();
  if (!target->tls_dir.empty()) ORRERY_RETURN_IF_ERROR(rpc::UseTlsDir(target->tls_dir));
  absl::Status reachable = launcher::CheckCluster(target->address, target->token);
  if (!reachable.ok()) return reachable;
  ClusterConnection connection;
  connection.address = target->address;
  connection.token = target->token;
  connection.options = rpc::ClientOptions{"GCS at " + target->address, target->token, rpc::RpcOptions()};
  connection.gcs = std::make_unique<gcs::GrpcGcsClient>(target->address, connection.options);
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

}  // namespace orrery::cli
