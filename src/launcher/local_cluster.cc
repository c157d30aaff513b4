#include "src/launcher/local_cluster.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "orrery/gcs.grpc.pb.h"
#include "orrery/version.h"
#include "src/common/clock.h"
#include "src/common/file_util.h"
#include "src/common/log.h"
#include "src/common/net.h"
#include "src/common/process.h"
#include "src/common/status.h"
#include "src/gcs/client/gcs_client.h"
#include "src/rpc/cluster_tls.h"
#include "src/rpc/process_tls.h"
#include "src/rpc/retried_call.h"
#include "src/rpc/tls_certificates.h"

namespace orrery::launcher {

namespace {

std::string Root(const NodeOptions& options) {
  return options.temp_dir.empty() ? DefaultTempDir() : options.temp_dir;
}

void KillDaemon(DaemonProcess& daemon) {
  if (daemon.pid <= 0) return;
  kill(-daemon.pid, SIGKILL);
  if (daemon.pidfd >= 0) {
    WaitForExit(daemon.pidfd, 5000);
    TryReap(daemon.pidfd);
    close(daemon.pidfd);
    daemon.pidfd = -1;
  }
}

// How long `orrery start --address ... --ca-hash ...` waits for the GCS's TLS handshake.
constexpr int64_t kJoinCheckTimeoutMs = 5000;

// The CA certificate of a TLS directory; empty for none (plain TCP).
std::string CaFileIn(const std::string& tls_dir) {
  return tls_dir.empty() ? "" : absl::StrCat(tls_dir, "/", rpc::kCaCertFile);
}

absl::StatusOr<DaemonProcess> StartRaylet(const std::string& bin_dir, const SessionDir& session,
                                          const std::string& gcs_address, const std::string& node_ip,
                                          const NodeOptions& options, const std::string& ca_file) {
  std::vector<std::string> args = {"--gcs-address=" + gcs_address,        "--node-ip-address=" + node_ip,
                                   "--session-dir=" + session.path(),     "--temp-dir=" + Root(options),
                                   "--token-file=" + session.TokenFile()};
  // A TLS cluster: the raylet gets a certificate of its own (node_tls.h), trusting the CA of
  // the head's session on the head's host, or the one the GCS presented with the given hash
  // (fetched by the launcher, and its fingerprint checked again by the raylet).
  if (!ca_file.empty()) args.push_back("--ca-file=" + ca_file);
  if (!options.ca_hash.empty()) args.push_back("--ca-hash=" + options.ca_hash);
  if (options.num_cpus >= 0) args.push_back(absl::StrCat("--num-cpus=", options.num_cpus));
  if (options.num_gpus >= 0) args.push_back(absl::StrCat("--num-gpus=", options.num_gpus));
  if (!options.resources.empty()) args.push_back("--resources=" + options.resources);
  if (options.object_store_memory >= 0) {
    args.push_back(absl::StrCat("--object-store-memory=", options.object_store_memory));
  }
  if (options.memory >= 0) args.push_back(absl::StrCat("--memory=", options.memory));
  if (options.bind_all) args.push_back("--bind-all=true");
  if (options.object_store_prefault) args.push_back("--object-store-prefault=true");
  if (!options.spill_dir.empty()) args.push_back("--spill-dir=" + options.spill_dir);
  if (options.metrics_port > 0) args.push_back(absl::StrCat("--metrics-port=", options.metrics_port));
  std::string output = absl::StrCat(session.LogsDir(), "/raylet-", NowMs(), ".out");
  return StartDaemon(bin_dir + "/orrery-raylet", args, output, options.start_timeout_ms, options.die_with_caller);
}

// The daemons can listen on `node_ip`, or are told to listen on every interface.
absl::Status CheckListenable(const std::string& node_ip, const NodeOptions& options) {
  if (options.bind_all) return absl::OkStatus();
  absl::Status status = CheckLocalAddress(node_ip);
  if (status.ok()) return status;
  return absl::InvalidArgumentError(absl::StrCat("cannot listen on the node IP: ", status.message(),
                                                 " (behind NAT, pass --bind-all to listen on every interface)"));
}

// The node id (hex) a raylet's pid record names ("raylet-<id>"); empty for other daemons.
std::string RayletNodeHex(const PidRecord& record) {
  constexpr absl::string_view kPrefix = "raylet-";
  return absl::StartsWith(record.name, kPrefix) ? record.name.substr(kPrefix.size()) : "";
}

// The head's raylet of the newest session under `root`, when it still runs there while the
// head's GCS and orrery-head are gone (both killed, or the host's processes lost but for it):
// a new head on the same port serves that session and adopts the raylet.
std::optional<PidRecord> OrphanedHeadRaylet(const SessionDir& session, int port) {
  auto record = ReadClusterRecord(session);
  if (!record.ok() || !record->head || record->head_node_id.empty()) return std::nullopt;
  auto address = ParseHostPort(record->gcs_address);
  if (!address.ok() || address->port != port) return std::nullopt;
  std::optional<PidRecord> raylet;
  for (const PidRecord& daemon : ReadPidRecords(session)) {
    if (!PidRecordAlive(daemon)) continue;
    if (daemon.name == "gcs" || daemon.name == "head") return std::nullopt;  // not gone
    if (RayletNodeHex(daemon) == record->head_node_id) raylet = daemon;
  }
  return raylet;
}

// Ends an adopted raylet that the new GCS will not take back (it started a new cluster).
void StopAdopted(const PidRecord& raylet) {
  auto pidfd = OpenPidfd(raylet.pid);
  if (!pidfd.ok() || !PidRecordAlive(raylet)) return;
  kill(-raylet.pid, SIGTERM);
  if (!WaitForExit(*pidfd, 10'000)) kill(-raylet.pid, SIGKILL);
  close(*pidfd);
}

}  // namespace

std::string DefaultGcsStoragePath(const std::string& root, int port) {
  return absl::StrCat(root, "/gcs_storage/port_", port);
}

absl::StatusOr<StartedNode> StartHead(const HeadOptions& options) {
  ORRERY_ASSIGN_OR_RETURN(std::string bin_dir, FindBinDir());
  std::string node_ip = options.node.node_ip_address.empty() ? DefaultNodeIp() : options.node.node_ip_address;
  ORRERY_RETURN_IF_ERROR(CheckListenable(node_ip, options.node));
  if (options.port != 0 && !TcpPortFree(ListenHost(node_ip, options.node.bind_all), options.port)) {
    return absl::AlreadyExistsError(absl::StrCat("port ", options.port,
                                                 " is already in use; choose another with --port"));
  }
  StartedNode node;
  std::optional<PidRecord> orphan;
  if (auto latest = LatestSession(Root(options.node)); latest.ok() && options.port != 0) {
    orphan = OrphanedHeadRaylet(*latest, options.port);
    if (orphan.has_value()) node.session = *latest;
  }
  if (!orphan.has_value()) {
    ORRERY_ASSIGN_OR_RETURN(node.session, CreateSession(Root(options.node)));
  }
  node.token = options.token.empty() ? GenerateToken() : options.token;
  // The adopted raylet's session keeps its token file: a GCS restored from storage writes the
  // stored token there itself, and any other GCS makes a new cluster (see below).
  if (!orphan.has_value()) ORRERY_RETURN_IF_ERROR(WriteToken(node.session.TokenFile(), node.token));

  node.gcs_storage = options.gcs_storage;
  if (node.gcs_storage.empty()) {
    node.gcs_storage = options.port == 0 ? "memory" : "rocksdb:" + DefaultGcsStoragePath(Root(options.node), options.port);
  } else if (absl::StartsWith(node.gcs_storage, "rocksdb:")) {
    // The GCS runs elsewhere than here: a relative path means here.
    std::error_code ec;
    node.gcs_storage =
        "rocksdb:" + std::filesystem::absolute(node.gcs_storage.substr(std::string("rocksdb:").size()), ec).string();
  }
  ORRERY_RETURN_IF_ERROR(WriteGcsStorageRecord(node.session, node.gcs_storage));
  std::string tls_dir;
  if (options.tls) {
    std::error_code ec;
    tls_dir = std::filesystem::absolute(options.tls_dir.empty() ? Root(options.node) + "/tls" : options.tls_dir, ec);
    ORRERY_RETURN_IF_ERROR(rpc::PrepareHeadTlsDir(tls_dir));
    // This process checks on the daemons it starts, over TLS too.
    ORRERY_RETURN_IF_ERROR(rpc::UseTlsDir(tls_dir));
  }
  std::vector<std::string> gcs_args = {absl::StrCat("--port=", options.port), "--host=" + node_ip,
                                       "--session-dir=" + node.session.path(),
                                       "--token-file=" + node.session.TokenFile(),
                                       "--token-origin=" + (options.token.empty() ? "generated" : options.token_origin),
                                       "--gcs-storage-sync=" + options.gcs_storage_sync};
  // A Redis URL may carry a password: it goes in the environment, not on a command line `ps` shows.
  std::map<std::string, std::string> gcs_env = {{"ORRERY_GCS_STORAGE", node.gcs_storage}};
  if (!options.gcs_storage_prefix.empty()) gcs_args.push_back("--gcs-storage-prefix=" + options.gcs_storage_prefix);
  if (options.gcs_storage_reset) gcs_args.push_back("--gcs-storage-reset=true");
  if (options.node.bind_all) gcs_args.push_back("--bind-all=true");
  if (options.metrics_port >= 0) gcs_args.push_back(absl::StrCat("--metrics-port=", options.metrics_port));
  if (options.dashboard_port >= 0) gcs_args.push_back(absl::StrCat("--dashboard-port=", options.dashboard_port));
  if (!tls_dir.empty()) gcs_args.push_back("--tls-dir=" + tls_dir);
  node.tls_dir = tls_dir;
  // A GCS whose tables survive it runs under orrery-head, which starts it again when it dies.
  absl::StatusOr<DaemonProcess> gcs;
  if (node.gcs_storage == "memory") {
    gcs = StartDaemon(bin_dir + "/orrery-gcs", gcs_args, node.session.LogsDir() + "/gcs.out",
                      options.node.start_timeout_ms, options.node.die_with_caller, gcs_env);
  } else {
    std::vector<std::string> head_args = {"--session-dir=" + node.session.path(), "--", bin_dir + "/orrery-gcs"};
    head_args.insert(head_args.end(), gcs_args.begin(), gcs_args.end());
    gcs = StartDaemon(bin_dir + "/orrery-head", head_args, node.session.LogsDir() + "/gcs.out",
                      options.node.start_timeout_ms, options.node.die_with_caller, gcs_env);
  }
  if (!gcs.ok()) return gcs.status();
  node.gcs = *gcs;
  // A GCS restored from storage keeps the stored cluster's token, and wrote it to the file.
  auto token = ReadToken(node.session.TokenFile());
  if (!token.ok()) {
    KillDaemon(node.gcs);
    return token.status();
  }
  node.token = *token;
  node.restored = node.gcs.ready.value("restored", "");
  node.gcs_address = absl::StrCat(node_ip, ":", node.gcs.ready.value("port", 0));
  node.gcs_metrics_port = node.gcs.ready.value("metrics_port", 0);
  node.dashboard_port = node.gcs.ready.value("dashboard_port", 0);

  ClusterRecord record{node.gcs_address, node.gcs.ready.value("cluster_id", ""), ORRERY_VERSION_STRING, NowMs(),
                       /*head=*/true, orphan.has_value() ? RayletNodeHex(*orphan) : "", tls_dir};
  if (absl::Status status = WriteClusterRecord(node.session, record); !status.ok()) {
    KillDaemon(node.gcs);
    return status;
  }
  if (orphan.has_value() && !node.restored.empty()) {
    // The raylet re-registers with the restored GCS under its node id, as after a GCS restart.
    node.raylet.pid = orphan->pid;
    node.raylet.pidfd = OpenPidfd(orphan->pid).value_or(-1);
    node.node_id = RayletNodeHex(*orphan);
    node.raylet.ready = {{"node_id", node.node_id}};
    node.adopted_raylet = true;
    return node;
  }
  // A GCS that restored nothing is a new cluster, which the old raylet cannot join.
  if (orphan.has_value()) StopAdopted(*orphan);
  auto raylet = StartRaylet(bin_dir, node.session, node.gcs_address, node_ip, options.node, CaFileIn(tls_dir));
  if (!raylet.ok()) {
    KillDaemon(node.gcs);
    return raylet.status();
  }
  node.raylet = *raylet;
  node.node_id = node.raylet.ready.value("node_id", "");
  record.head_node_id = node.node_id;  // for a later head to adopt (OrphanedHeadRaylet)
  if (absl::Status status = WriteClusterRecord(node.session, record); !status.ok()) {
    spdlog::warn("{}", status.message());
  }
  return node;
}

absl::Status CheckCluster(const std::string& address, const std::string& token) {
  ORRERY_RETURN_IF_ERROR(ParseHostPort(address).status());
  rpc::RpcOptions rpc;
  gcs::GrpcGcsClient client(address, rpc::ClientOptions{"GCS at " + address, token, rpc});
  // A read, so retried: one lost reply (a busy or restarting head, an injected failure) must not
  // fail a join; a head that is not there fails it within the budget.
  rpc::CallOptions options = rpc::RetriedCall();
  options.timeout_ms = 5000;
  options.retry_budget_ms = 5000;
  auto reply =
      client.client().CallSync(&rpc::GcsService::Stub::async::GetClusterStatus, rpc::GetClusterStatusRequest(), options);
  if (reply.ok()) {
    if (reply->version() != ORRERY_VERSION_STRING) {
      return absl::FailedPreconditionError(absl::StrCat("the cluster at ", address, " runs Orrery ", reply->version(),
                                                        ", this host runs Orrery ", ORRERY_VERSION_STRING));
    }
    return absl::OkStatus();
  }
  switch (reply.status().code()) {
    case absl::StatusCode::kUnauthenticated:
      return absl::UnauthenticatedError("the cluster at " + address + " refused the token: " +
                                        std::string(reply.status().message()));
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded: {
      // A TLS head and a plain client (or the reverse) see each other only as a closed socket.
      std::string hint = rpc::ProcessTls() == nullptr
                             ? "; this process speaks plain TCP: a head started with --tls=on needs its TLS directory "
                               "(run on the head's host with its --temp-dir, or set ORRERY_TLS_DIR), and a node "
                               "joins it from another host with --ca-hash"
                             : "; this process speaks TLS: a head started with --tls=off refuses it";
      return absl::UnavailableError("no Orrery head answers at " + address + " (" +
                                    std::string(reply.status().message()) + hint + ")");
    }
    default:
      return reply.status();
  }
}

namespace {

// How long a live raylet of the cluster at `address` under `root` waits for its GCS, if one runs.
std::optional<int64_t> LocalRayletGcsBudgetMs(const std::string& root, const std::string& address) {
  for (const SessionDir& session : AllSessions(root)) {
    auto record = ReadClusterRecord(session);
    if (!record.ok() || record->gcs_address != address) continue;
    for (const PidRecord& daemon : ReadPidRecords(session)) {
      if (RayletNodeHex(daemon).empty() || !PidRecordAlive(daemon)) continue;
      auto node = NodeId::FromHex(RayletNodeHex(daemon));
      if (!node.ok()) continue;
      auto settings = ReadNodeSettings(session, *node);
      if (settings.ok() && settings->gcs_lost_timeout_ms > 0) return settings->gcs_lost_timeout_ms;
    }
  }
  return std::nullopt;
}

}  // namespace

absl::Status WaitForCluster(const std::string& address, const std::string& token, const std::string& temp_dir) {
  absl::Status status = CheckCluster(address, token);
  if (status.code() != absl::StatusCode::kUnavailable) return status;
  auto budget = LocalRayletGcsBudgetMs(temp_dir.empty() ? DefaultTempDir() : temp_dir, address);
  if (!budget.has_value()) return status;
  spdlog::warn("{}; a raylet of that cluster runs on this host and waits for its GCS: waiting too (up to {} s)",
               status.message(), *budget / 1000);
  int64_t deadline = NowMs() + *budget;
  while (status.code() == absl::StatusCode::kUnavailable && NowMs() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(gcs::kGcsMaxBackoffMs));  // a retry's back-off
    status = CheckCluster(address, token);
  }
  return status;
}

absl::StatusOr<StartedNode> JoinCluster(const std::string& address, const std::string& token,
                                        const NodeOptions& options) {
  ORRERY_ASSIGN_OR_RETURN(std::string bin_dir, FindBinDir());
  ORRERY_RETURN_IF_ERROR(ParseHostPort(address).status());
  StartedNode node;
  node.gcs_address = address;
  // Reuse this host's session of the same cluster (a second raylet beside the head, or
  // beside another joined raylet); otherwise start one.
  std::string root = Root(options);
  auto latest = LatestSession(root);
  std::string existing_token;
  ClusterRecord record{address, "", ORRERY_VERSION_STRING, NowMs(), /*head=*/false, "", ""};
  if (latest.ok()) {
    auto existing = ReadClusterRecord(*latest);
    if (existing.ok() && existing->gcs_address == address) {
      node.session = *latest;
      record = *existing;
      if (auto t = ReadToken(latest->TokenFile()); t.ok()) existing_token = *t;
    }
  }
  const std::string tls_dir = record.tls_dir;
  node.token = token.empty() ? existing_token : token;
  if (node.token.empty()) {
    return absl::InvalidArgumentError("joining " + address +
                                      " needs the cluster token: pass --token (printed by `orrery start --head`)");
  }
  // A fingerprint makes the join stand on its own, whatever this host holds (an earlier raylet's
  // certificate may name a node the cluster has declared dead since): the GCS serves a host
  // without a certificate nothing but the join itself, which the raylet makes; a wrong address
  // or fingerprint fails here, before anything starts. Without one, the host joins with the
  // certificates its session names (the head's, on the head's host).
  const bool joins_by_fingerprint = !options.ca_hash.empty();
  std::string fetched_ca;
  if (joins_by_fingerprint) {
    ORRERY_ASSIGN_OR_RETURN(fetched_ca, rpc::FetchClusterCa(address, options.ca_hash, kJoinCheckTimeoutMs));
  } else {
    if (!tls_dir.empty()) ORRERY_RETURN_IF_ERROR(rpc::UseTlsDir(tls_dir));
    ORRERY_RETURN_IF_ERROR(CheckCluster(address, node.token));
  }
  if (node.session.path().empty()) {
    ORRERY_ASSIGN_OR_RETURN(node.session, CreateSession(root));
    ORRERY_RETURN_IF_ERROR(WriteClusterRecord(node.session, record));
  }
  if (existing_token != node.token) ORRERY_RETURN_IF_ERROR(WriteToken(node.session.TokenFile(), node.token));
  std::string node_ip = options.node_ip_address.empty() ? DefaultNodeIp() : options.node_ip_address;
  ORRERY_RETURN_IF_ERROR(CheckListenable(node_ip, options));
  std::string ca_file = CaFileIn(tls_dir);
  if (joins_by_fingerprint) {
    // The raylet trusts the CA checked here (it checks the fingerprint of the file again), and
    // does not ask the GCS for it a second time.
    ca_file = node.session.path() + "/joined_ca.crt";
    ORRERY_RETURN_IF_ERROR(WriteFileAtomic(ca_file, fetched_ca, 0644));
  }
  ORRERY_ASSIGN_OR_RETURN(node.raylet, StartRaylet(bin_dir, node.session, address, node_ip, options, ca_file));
  node.tls_dir = tls_dir;
  node.node_id = node.raylet.ready.value("node_id", "");
  if (joins_by_fingerprint && !record.head) {
    // This host's drivers and CLI use the newest raylet's certificate (the head's host keeps
    // the head's).
    node.tls_dir = node.raylet.ready.value("tls_dir", "");
    record.tls_dir = node.tls_dir;
    ORRERY_RETURN_IF_ERROR(WriteClusterRecord(node.session, record));
  }
  return node;
}

absl::StatusOr<ClusterTarget> ResolveCluster(const std::string& address, const std::string& token,
                                             const std::string& temp_dir) {
  ClusterTarget target{address, token};
  auto from_env = [](const char* name) {
    const char* value = std::getenv(name);
    return value == nullptr ? std::string() : std::string(value);
  };
  if (target.address.empty()) target.address = from_env("ORRERY_ADDRESS");
  if (target.token.empty()) target.token = from_env("ORRERY_TOKEN");
  target.tls_dir = from_env(rpc::kTlsDirEnv);

  std::string root = temp_dir.empty() ? DefaultTempDir() : temp_dir;
  auto session = LatestSession(root);
  absl::StatusOr<ClusterRecord> record =
      session.ok() ? ReadClusterRecord(*session) : absl::StatusOr<ClusterRecord>(session.status());
  if (target.address.empty() || target.token.empty()) {
    if (!session.ok()) {
      if (target.address.empty()) {
        return absl::NotFoundError("no cluster address: pass --address or set ORRERY_ADDRESS (no local session under " +
                                   root + ")");
      }
      return absl::InvalidArgumentError("no cluster token for " + target.address +
                                        ": pass --token or set ORRERY_TOKEN");
    }
    if (!record.ok()) return record.status();
    if (target.address.empty()) target.address = record->gcs_address;
  }
  // This host's session of that cluster, if any, holds its token and says whether it speaks TLS.
  bool this_cluster = record.ok() && record->gcs_address == target.address;
  if (target.tls_dir.empty() && this_cluster) {
    target.tls_dir = record->tls_dir;
    target.known_plain = target.tls_dir.empty();
  }
  if (target.token.empty()) {
    if (!this_cluster) {
      return absl::InvalidArgumentError("no cluster token for " + target.address +
                                        ": pass --token or set ORRERY_TOKEN");
    }
    ORRERY_ASSIGN_OR_RETURN(target.token, ReadToken(session->TokenFile()));
  }
  return target;
}

}  // namespace orrery::launcher
