// `orrery start --head` and `orrery start --address HOST:PORT --token TOKEN`.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "src/cli/commands.h"
#include "src/common/daemon.h"
#include "src/common/file_util.h"
#include "src/common/process.h"
#include "src/launcher/local_cluster.h"
#include "src/rpc/cluster_tls.h"
#include "src/rpc/tls_certificates.h"

namespace orrery::cli {

namespace {

struct StartFlags {
  bool head = false;
  std::string address;
  std::string token;
  int port = 6391;
  int metrics_port = -1;
  int dashboard_port = -1;
  bool block = false;
  launcher::NodeOptions node;
  std::string gcs_storage;
  std::string gcs_storage_sync = "batch";
  std::string gcs_storage_prefix;
  bool gcs_storage_reset = false;
  std::string tls = "on";
  std::string tls_dir;
};

// `token_source`: where the token came from ("" when the head made a fresh one).
void PrintHead(const launcher::StartedNode& node, const std::string& token_source) {
  printf("Started the Orrery head node.\n");
  if (!node.restored.empty()) {
    printf("  Restored:    %s (the stored cluster, with its id and token)\n", node.restored.c_str());
  } else if (!token_source.empty()) {
    printf("  Token:       the one given by %s\n", token_source.c_str());
  }
  printf("  Storage:     %s\n",
         absl::StartsWith(node.gcs_storage, "redis") ? "redis (the URL given)" : node.gcs_storage.c_str());
  printf("  GCS address: %s\n", node.gcs_address.c_str());
  if (node.gcs_metrics_port > 0) {
    printf("  Metrics:     %s://%s:%d/metrics (Prometheus targets: orrery metrics targets)\n",
           node.tls_dir.empty() ? "http" : "https", node.gcs_address.substr(0, node.gcs_address.rfind(':')).c_str(),
           node.gcs_metrics_port);
  }
  if (node.dashboard_port > 0) {
    printf("  Dashboard:   %s://%s:%d/ (a login link: orrery dashboard)\n", node.tls_dir.empty() ? "http" : "https",
           node.gcs_address.substr(0, node.gcs_address.rfind(':')).c_str(), node.dashboard_port);
  }
  std::string adopted =
      node.adopted_raylet ? " (its raylet was running: adopted, pid " + std::to_string(node.raylet.pid) + ")" : "";
  printf("  Node id:     %s%s\n", node.node_id.c_str(), adopted.c_str());
  printf("  Session:     %s\n", node.session.path().c_str());
  printf("  Logs:        %s\n", node.session.LogsDir().c_str());
  std::string join_line = absl::StrCat("orrery start --address ", node.gcs_address, " --token ", node.token);
  if (node.tls_dir.empty()) {
    printf("  TLS:         off (plain TCP; the token still guards every call)\n\n");
  } else {
    auto ca = ReadFileToString(node.tls_dir + "/" + rpc::kCaCertFile);
    auto fingerprint = ca.ok() ? rpc::CaFingerprint(*ca) : ca.status();
    printf("  TLS:         mutual TLS; cluster CA %s/%s (%s)\n\n", node.tls_dir.c_str(), rpc::kCaCertFile,
           fingerprint.ok() ? fingerprint->c_str() : std::string(fingerprint.status().message()).c_str());
    // The joining host checks the CA it is served against this, before it sends the token.
    if (fingerprint.ok()) absl::StrAppend(&join_line, " --ca-hash ", *fingerprint);
  }
  printf("To add another host to this cluster, run on it:\n");
  printf("  %s\n\n", join_line.c_str());
  printf("To see the cluster: orrery status\nTo stop it:         orrery stop\n");
}

// --block: stay in the foreground until a signal, or until one of our daemons exits.
int Block(launcher::StartedNode& node) {
  BlockTerminationSignals();
  printf("Blocking; press Ctrl-C to stop.\n");
  fflush(stdout);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  std::vector<struct pollfd> fds;
  for (const auto* daemon : {&node.gcs, &node.raylet}) {
    if (daemon->pidfd >= 0) fds.push_back({daemon->pidfd, POLLIN, 0});
  }
  int code = 0;
  while (true) {
    struct timespec tick = {0, 200 * 1000 * 1000};
    siginfo_t info;
    if (sigtimedwait(&set, &info, &tick) > 0) break;
    if (poll(fds.data(), fds.size(), 0) > 0) {
      fprintf(stderr, "orrery start: a daemon exited; stopping the rest (see %s)\n", node.session.LogsDir().c_str());
      code = 1;
      break;
    }
  }
  for (auto* daemon : {&node.raylet, &node.gcs}) {
    if (daemon->pid <= 0) continue;
    kill(-daemon->pid, SIGTERM);
    if (daemon->pidfd >= 0 && !WaitForExit(daemon->pidfd, 10'000)) kill(-daemon->pid, SIGKILL);
    if (daemon->pidfd >= 0) TryReap(daemon->pidfd);
  }
  return code;
}

int RunStart(StartFlags& flags) {
  if (flags.head == !flags.address.empty()) {
    return Fail("start", "give exactly one of --head (start a new cluster) or --address HOST:PORT (join one)");
  }
  // One token wins everywhere: the one given (--token, else ORRERY_TOKEN), which a new head
  // adopts and says so, or else a fresh one; the daemons get it from the session's token file.
  std::string token = flags.token;
  std::string token_source = token.empty() ? "" : "--token";
  if (const char* env = std::getenv("ORRERY_TOKEN"); token.empty() && env != nullptr && *env != '\0') {
    token = env;
    token_source = "ORRERY_TOKEN";
  }
  absl::StatusOr<launcher::StartedNode> node;
  if (flags.head) {
    launcher::HeadOptions options;
    options.node = flags.node;
    options.port = flags.port;
    options.metrics_port = flags.metrics_port;
    options.dashboard_port = flags.dashboard_port;
    options.token = token;
    options.token_origin = token_source == "ORRERY_TOKEN" ? "environment" : "explicit";
    options.gcs_storage = flags.gcs_storage;
    options.gcs_storage_sync = flags.gcs_storage_sync;
    options.gcs_storage_reset = flags.gcs_storage_reset;
    options.gcs_storage_prefix = flags.gcs_storage_prefix;
    options.tls = flags.tls == "on";
    if (!options.tls) {
      fprintf(stderr, "warning: --tls=off: %s\n", rpc::kPlainTcpWarning);
    }
    options.tls_dir = flags.tls_dir;
    node = launcher::StartHead(options);
  } else {
    launcher::NodeOptions joining = flags.node;
    joining.metrics_port = std::max(0, flags.metrics_port);
    node = launcher::JoinCluster(flags.address, token, joining);
  }
  if (!node.ok()) return Fail("start", std::string(node.status().message()));
  if (flags.head) {
    PrintHead(*node, token_source);
  } else {
    printf("Started a raylet (node %s) in the cluster at %s.\n  Session: %s\n", node->node_id.c_str(),
           node->gcs_address.c_str(), node->session.path().c_str());
  }
  fflush(stdout);
  if (flags.block) return Block(*node);
  return 0;
}

}  // namespace

void AddStartCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<StartFlags>();
  CLI::App* start = app.add_subcommand("start", "Start a head node, or a raylet that joins a cluster");
  start->add_flag("--head", flags->head, "Start a new cluster: the GCS and a raylet on this host");
  start->add_option("--address", flags->address, "HOST:PORT of the GCS to join");
  start->add_option("--token", flags->token,
                    "Cluster token to join with, or for a new head to use (or ORRERY_TOKEN; a head makes one otherwise)");
  start->add_option("--port", flags->port, "GCS port of a new head (0: any free port)")->capture_default_str();
  start->add_option("--metrics-port", flags->metrics_port,
                    "Port of GET /metrics (Prometheus): the GCS's with --head (default 9391; with --port 0, any free "
                    "port), else the raylet's (default: any free port; every raylet's is in `orrery status`)");
  start->add_option("--dashboard-port", flags->dashboard_port,
                    "Port of the head's web dashboard (default 8265; with --port 0, any free port)");
  start->add_option("--node-ip-address", flags->node.node_ip_address, "IP other hosts reach this node at");
  start->add_flag("--bind-all", flags->node.bind_all,
                  "Listen on every interface (0.0.0.0), not only on the node IP (e.g. behind NAT)");
  start->add_option("--num-cpus", flags->node.num_cpus, "CPUs to offer (default: all cores)");
  start->add_option("--num-gpus", flags->node.num_gpus, "GPUs to offer (default: detected)");
  start->add_option("--memory", flags->node.memory,
                    "Bytes of memory offered to tasks and actors, Ray's \"memory\" resource (default: the host's "
                    "available memory less the object store)");
  start->add_option("--resources", flags->node.resources, "Custom resources as JSON, e.g. '{\"disk\": 2}'");
  start->add_option("--object-store-memory", flags->node.object_store_memory,
                    "Bytes of shared memory for objects (default: 30% of RAM, all stores on this host under 50%)");
  start->add_flag("--object-store-prefault", flags->node.object_store_prefault,
                  "Touch the object store's pages at start, so that first writes are fast");
  start->add_option("--spill-dir", flags->node.spill_dir, "Where objects spill to (default: the session folder)");
  start->add_option("--temp-dir", flags->node.temp_dir, "Root for sessions (default: $ORRERY_TEMP_DIR or /tmp/orrery)");
  start->add_option("--gcs-storage", flags->gcs_storage,
                    "Where a head keeps the cluster's tables: rocksdb:PATH, redis://[user:password@]HOST:PORT[/db], "
                    "or memory (nothing survives). Default: rocksdb:<temp-dir>/gcs_storage/port_<port>")
      ->envname("ORRERY_GCS_STORAGE");  // a Redis password kept off the command line
  start->add_option("--gcs-storage-sync", flags->gcs_storage_sync,
                    "always (sync every write) or batch (sync every 5 ms; a crash of the GCS loses nothing)")
      ->capture_default_str();
  start->add_option("--gcs-storage-prefix", flags->gcs_storage_prefix,
                    "Prefix of the cluster's keys in Redis (default orrery:): clusters sharing one Redis need "
                    "different ones");
  start->add_flag("--gcs-storage-reset", flags->gcs_storage_reset,
                  "Start a new cluster, deleting what the head's storage holds");
  start->add_option("--tls", flags->tls,
                    "on: mutual TLS between every process of the cluster, with a cluster CA made on the head "
                    "(joins on the head's host use it); off: plain TCP, for a network you trust (the token "
                    "and every value cross it in clear text)")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  start->add_option("--ca-hash", flags->node.ca_hash,
                    "Join a TLS cluster from another host: the cluster CA's fingerprint (sha256:<hex>, printed by "
                    "`orrery start --head`), which the head must present before the token is sent")
      ->envname("ORRERY_CA_HASH");
  start->add_option("--tls-dir", flags->tls_dir, "Where a head keeps the cluster CA and its certificates "
                                                 "(default: <temp-dir>/tls)");
  start->add_flag("--block", flags->block, "Stay in the foreground; stop everything on Ctrl-C");
  start->callback([flags, &exit_code] { exit_code = RunStart(*flags); });
}

int Fail(const std::string& verb, const std::string& message) {
  fprintf(stderr, "orrery %s: %s\n", verb.c_str(), message.c_str());
  return 1;
}

}  // namespace orrery::cli
