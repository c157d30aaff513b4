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
  return state::ConnectTo(target->address, target->token);
}

}  // namespace orrery::cli
