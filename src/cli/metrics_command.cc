// `orrery metrics targets`: the cluster's Prometheus scrape targets, in the file-based service
// discovery format the head keeps in <session>/metrics/targets.json, read from the GCS (so it
// works from any host that reaches the cluster).
#include <unistd.h>

#include "src/cli/cluster_connection.h"
#include "src/cli/commands.h"
#include "src/metrics/targets.h"
#include "src/rpc/process_tls.h"
#include "src/rpc/tls_files.h"

namespace orrery::cli {

namespace {

int RunTargets(const ClusterFlags& flags) {
  auto cluster = ConnectToCluster(flags);
  if (!cluster.ok()) return Fail("metrics", std::string(cluster.status().message()));
  rpc::CallOptions options;
  options.timeout_ms = 5000;
  auto status = cluster->gcs->client().CallSync(&rpc::GcsService::Stub::async::GetClusterStatus,
                                                rpc::GetClusterStatusRequest(), options);
  if (!status.ok()) return Fail("metrics", DescribeCallError(status.status(), cluster->address));
  std::vector<rpc::NodeInfo> nodes(status->nodes().begin(), status->nodes().end());
  std::shared_ptr<const rpc::TlsConfig> tls = rpc::ProcessTls();
  printf("%s", metrics::TargetsJson(cluster->address.substr(0, cluster->address.rfind(':')), status->metrics_port(),
                                    nodes, tls != nullptr)
                   .c_str());
  if (tls != nullptr && isatty(STDERR_FILENO)) {
    // For a person, on stderr: stdout stays the file Prometheus reads, and a script that reads
    // both gets the file alone.
    std::string ca = tls->dir.empty() ? "the cluster CA's certificate" : rpc::TlsFilePath(tls->dir, rpc::kCaCertFile);
    fprintf(stderr,
            "TLS is on: every target serves HTTPS (__scheme__ in the file). Give the scrape job\n"
            "  tls_config:\n    ca_file: %s\n    server_name: %s\n",
            ca.c_str(), rpc::kClusterServerName);
  }
  return 0;
}

}  // namespace

void AddMetricsCommand(CLI::App& app, int& exit_code) {
  CLI::App* metrics = app.add_subcommand("metrics", "Prometheus metrics of the cluster");
  metrics->require_subcommand(1);
  auto flags = std::make_shared<ClusterFlags>();
  CLI::App* targets = metrics->add_subcommand(
      "targets", "Print the scrape targets (GCS and every alive raylet) as a Prometheus file_sd_configs file");
  AddClusterFlags(*targets, *flags);
  targets->callback([flags, &exit_code] { exit_code = RunTargets(*flags); });
}

}  // namespace orrery::cli
