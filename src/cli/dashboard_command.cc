// `orrery dashboard`: where the head's web dashboard is, and a one-time login link to it
// (src/dashboard/login_link.h), so that the user need not copy the token into the browser.
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "orrery/gcs.grpc.pb.h"
#include "src/cli/cluster_connection.h"
#include "src/cli/commands.h"
#include "src/common/random.h"
#include "src/dashboard/login_link.h"
#include "src/rpc/process_tls.h"
#include "src/rpc/tls_files.h"
#include "src/state/format.h"

namespace orrery::cli {

namespace {

int RunDashboard(const ClusterFlags& flags) {
  auto cluster = ConnectToCluster(flags);
  if (!cluster.ok()) return Fail("dashboard", std::string(cluster.status().message()));
  auto status = CallGcs<rpc::GcsService>(*cluster, &rpc::GcsService::Stub::async::GetClusterStatus,
                                         rpc::GetClusterStatusRequest());
  if (!status.ok()) return Fail("dashboard", std::string(status.status().message()));
  if (status->dashboard_port() <= 0) return Fail("dashboard", "the cluster's GCS serves no dashboard (--dashboard=false)");
  const std::string url = absl::StrCat(status->https() ? "https" : "http", "://",
                                       cluster->address.substr(0, cluster->address.rfind(':')), ":",
                                       status->dashboard_port(), "/");
  rpc::KvPutRequest put;
  put.set_namespace_(dashboard::kLoginLinkNamespace);
  put.set_key(absl::BytesToHexString(RandomBytes(dashboard::kLoginLinkNonceBytes)));
  put.set_value(std::to_string(state::NowMs() + dashboard::kLoginLinkLifetimeMs));
  auto made = CallGcs<rpc::GcsService>(*cluster, &rpc::GcsService::Stub::async::KvPut, put);
  if (!made.ok()) return Fail("dashboard", std::string(made.status().message()));
  printf("Dashboard: %s\n", url.c_str());
  // In the fragment: a browser sends it to no server, so no log or Referer keeps it.
  printf("Login link (one login, within %lld minutes): %slogin#once=%s\n",
         static_cast<long long>(dashboard::kLoginLinkLifetimeMs / 60000), url.c_str(), put.key().c_str());
  if (std::shared_ptr<const rpc::TlsConfig> tls = rpc::ProcessTls(); tls != nullptr && !tls->dir.empty()) {
    printf("Its certificate is signed by the cluster CA, %s, for the name %s (docs/dashboard.md)\n",
           rpc::TlsFilePath(tls->dir, rpc::kCaCertFile).c_str(), rpc::kClusterServerName);
  }
  return 0;
}

}  // namespace

void AddDashboardCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<ClusterFlags>();
  CLI::App* dashboard =
      app.add_subcommand("dashboard", "Print the web dashboard's address and a one-time login link to it");
  AddClusterFlags(*dashboard, *flags);
  dashboard->callback([flags, &exit_code] { exit_code = RunDashboard(*flags); });
}

}  // namespace orrery::cli
