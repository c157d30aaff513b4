// orrery-raylet: the per-host daemon. Normally started by `orrery start`.
#include <signal.h>
#include <unistd.h>

#include <atomic>

#include "src/common/daemon.h"
#include "src/common/daemon_ready.h"
#include "src/common/log.h"
#include "src/common/logging.h"
#include "src/common/session.h"
#include "src/raylet/node_tls.h"
#include "src/raylet/raylet.h"
#include "src/rpc/cluster_tls.h"
#include "src/rpc/refused_names_file.h"
#include "src/rpc/tls_files.h"

int main(int argc, char** argv) {
  using namespace orrery;
  BlockTerminationSignals();
  RaiseOpenFileLimit();
  raylet::RayletConfig config;
  CLI::App app{"orrery-raylet: the Orrery per-host daemon (started by `orrery start`)"};
  if (int code = ParseDaemonFlags(app, raylet::RayletConfigTable(), config, argc, argv); code >= 0) return code;

  auto fail = [&](const std::string& message) {
    spdlog::error("orrery-raylet: {}", message);
    ReportFailed(config.ready_fd, message);
    return 1;
  };
  auto token = ResolveToken(config.token, config.token_file);
  if (!token.ok()) return fail(std::string(token.status().message()));
  // The node id names the log file, so logging starts once the raylet has one.
  std::atomic<bool> fatal{false};
  std::string fatal_reason;
  raylet::Raylet raylet(config, *token, [&](const std::string& why) {
    if (fatal.exchange(true)) return;
    fatal_reason = why;
    kill(getpid(), SIGTERM);  // wakes the main thread's signal wait
  });
  LoggingOptions logging{"raylet", raylet.node_id().Hex(), "", config.log_level};
  if (!config.session_dir.empty()) {
    if (absl::Status status = SessionDir(config.session_dir).EnsureLayout(); !status.ok()) {
      return fail(std::string(status.message()));
    }
    logging.log_dir = SessionDir(config.session_dir).LogsDir();
  }
  if (absl::Status status = InitLogging(logging); !status.ok()) return fail(std::string(status.message()));
  spdlog::debug("orrery-raylet settings:\n{}", raylet::RayletConfigTable().Dump(config));

  // Before the first channel (Start makes them); its workers find the directory in their
  // environment.
  auto tls_dir = raylet::PrepareNodeTlsDir(config, *token, raylet.node_id());
  if (!tls_dir.ok()) return fail(std::string(tls_dir.status().message()));
  if (!tls_dir->empty()) {
    if (absl::Status status = rpc::UseTlsDir(*tls_dir); !status.ok()) return fail(std::string(status.message()));
    // Its workers and the drivers beside it refuse what it refuses (they follow the file).
    rpc::PublishRefusedNamesTo(rpc::TlsFilePath(*tls_dir, rpc::kRefusedNamesFile));
  }
  std::unique_ptr<rpc::CertificateRenewer> renewer =
      raylet::RenewNodeCertificate(config, *token, raylet.node_id(), *tls_dir);
  std::function<void()> renew_now;
  if (renewer != nullptr) renew_now = [renewer = renewer.get()] { renewer->RenewNow(); };
  raylet.SetCertificateHooks(raylet::NodeTrustReader(*tls_dir), std::move(renew_now));

  if (absl::Status status = raylet.Start(); !status.ok()) {
    raylet.Stop("failed to start");
    return fail(std::string(status.message()));
  }
  std::string record = "raylet-" + raylet.node_id().Hex();
  if (absl::Status status = WritePidRecord(SessionDir(config.session_dir), record, getpid()); !status.ok()) {
    spdlog::warn("cannot write the pid record: {}", status.message());
  }
  ReportReady(config.ready_fd, {{"port", raylet.port()},
                                {"pid", getpid()},
                                {"node_id", raylet.node_id().Hex()},
                                {"socket", raylet.socket_path()},
                                {"resources", raylet.total().ToString()},
                                {"tls_dir", *tls_dir}});

  int sig = WaitForTerminationSignal();
  std::string reason = fatal ? fatal_reason : "signal " + std::to_string(sig);
  raylet.Stop(reason);
  unlink((SessionDir(config.session_dir).PidsDir() + "/" + record + ".pid").c_str());
  if (fatal) {
    spdlog::error("orrery-raylet exiting: {}", reason);
    return 1;
  }
  return 0;
}
