// orrery-gcs: the cluster's control service. Normally started by `orrery start --head`.
#include <unistd.h>

#include "src/common/log.h"
#include "src/common/daemon.h"
#include "src/common/daemon_ready.h"
#include "src/common/logging.h"
#include "src/common/session.h"
#include "src/gcs/gcs_server.h"
#include "src/rpc/cluster_tls.h"
#include "src/rpc/refused_names_file.h"
#include "src/rpc/tls_files.h"

int main(int argc, char** argv) {
  using namespace orrery;
  BlockTerminationSignals();
  RaiseOpenFileLimit();
  gcs::GcsConfig config;
  CLI::App app{"orrery-gcs: the Orrery global control service (started by `orrery start --head`)"};
  if (int code = ParseDaemonFlags(app, gcs::GcsConfigTable(), config, argc, argv); code >= 0) return code;

  auto fail = [&](const std::string& message) {
    spdlog::error("orrery-gcs: {}", message);
    ReportFailed(config.ready_fd, message);
    return 1;
  };

  LoggingOptions logging{"gcs", std::to_string(getpid()), "", config.log_level};
  if (!config.session_dir.empty()) {
    if (absl::Status status = SessionDir(config.session_dir).EnsureLayout(); !status.ok()) {
      return fail(std::string(status.message()));
    }
    logging.log_dir = SessionDir(config.session_dir).LogsDir();
  }
  if (absl::Status status = InitLogging(logging); !status.ok()) return fail(std::string(status.message()));
  spdlog::debug("orrery-gcs settings:\n{}", gcs::GcsConfigTable().Dump(config));

  auto token = ResolveToken(config.token, config.token_file);
  if (!token.ok()) return fail(std::string(token.status().message()));
  if (!config.tls_dir.empty()) {
    if (absl::Status status = rpc::UseTlsDir(config.tls_dir); !status.ok()) return fail(std::string(status.message()));
    // The drivers on the head's host use its directory: they refuse what the GCS refuses.
    rpc::PublishRefusedNamesTo(rpc::TlsFilePath(config.tls_dir, rpc::kRefusedNamesFile));
  }

  gcs::GcsServer server(config, *token);
  if (absl::Status status = server.Start(); !status.ok()) return fail(std::string(status.message()));
  if (!config.session_dir.empty()) {
    if (absl::Status status = WritePidRecord(SessionDir(config.session_dir), "gcs", getpid()); !status.ok()) {
      spdlog::warn("cannot write the pid record: {}", status.message());
    }
  }
  ReportReady(config.ready_fd, {{"port", server.port()}, {"metrics_port", server.metrics_port()}, {"dashboard_port", server.dashboard_port()}, {"pid", getpid()}, {"cluster_id", server.cluster_id().Hex()},
                                {"restored", server.restored()}});

  int sig = WaitForTerminationSignal();
  spdlog::info("orrery-gcs: signal {}, stopping", sig);
  server.Stop();
  if (!config.session_dir.empty()) unlink((SessionDir(config.session_dir).PidsDir() + "/gcs.pid").c_str());
  return 0;
}
