// Starting a head (GCS + raylet) or a joining raylet on this host, in a session under a
// temp-dir root; and finding the cluster a command on this host should talk to.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "src/common/session.h"
#include "src/launcher/daemon_launcher.h"

namespace orrery::launcher {

struct NodeOptions {
  std::string temp_dir;          // root; empty: DefaultTempDir()
  std::string node_ip_address;   // empty: detect
  // The daemons (and the node's workers and drivers) listen on every interface, not only on
  // node_ip_address.
  bool bind_all = false;
  double num_cpus = -1;          // negative: the machine's cores
  int num_gpus = -1;             // negative: detect
  std::string resources;         // JSON; empty: none
  int64_t object_store_memory = -1;  // bytes; negative: the raylet's default
  int64_t memory = -1;               // bytes offered to tasks; negative: the raylet's default
  bool object_store_prefault = false;
  std::string spill_dir;         // empty: the raylet's default
  int metrics_port = 0;          // the raylet's GET /metrics; 0: any free port
  // Joining a TLS cluster from another host: the fingerprint of the cluster CA ("sha256:<hex>",
  // printed by `orrery start --head`), which the GCS must present.
  std::string ca_hash;
  int64_t start_timeout_ms = 30'000;
  // The daemons die with the thread that started them (a driver's own local cluster must not
  // outlive a driver that crashed or was killed).
  bool die_with_caller = false;
};

struct HeadOptions {
  NodeOptions node;
  int port = 6391;  // 0: any free port
  // The GCS's GET /metrics; 0: any free port; negative: 9391, or any free port when `port` is 0.
  int metrics_port = -1;
  // The web dashboard's, chosen the same way (default 8265).
  int dashboard_port = -1;
  // The cluster's token; empty: a fresh one. `token_origin` says where it came from
  // ("explicit" or "environment"): a head restored from storage keeps the stored token, and
  // refuses a different explicit one (gcs_storage_meta.h).
  std::string token;
  std::string token_origin = "explicit";
  // Where the GCS keeps its tables (memory, rocksdb:PATH, redis://...); empty: RocksDB in
  // DefaultGcsStoragePath() (memory when the port is 0: nothing could find it again).
  std::string gcs_storage;
  std::string gcs_storage_sync = "batch";
  // Prefix of the cluster's Redis keys (empty: the GCS's default): two clusters sharing one
  // Redis need two prefixes.
  std::string gcs_storage_prefix;
  bool gcs_storage_reset = false;
  // Mutual TLS between every process of the cluster, with a CA made (or kept) in `tls_dir`
  // (empty: <root>/tls). On by default: off only on a network the user trusts.
  bool tls = true;
  std::string tls_dir;
};

// <root>/gcs_storage/port_<port>: beside the session folders, so that a new session of the same
// head (same root, same port) finds it, and two heads never share one.
std::string DefaultGcsStoragePath(const std::string& root, int port);

struct StartedNode {
  SessionDir session;
  std::string gcs_address;  // HOST:PORT
  int gcs_metrics_port = 0;  // the head's GCS's GET /metrics; 0 when joining
  int dashboard_port = 0;    // the head's web dashboard; 0 when joining
  std::string token;
  std::string node_id;      // hex
  DaemonProcess gcs;        // pid -1 when joining; orrery-head when the GCS runs under it
  std::string gcs_storage;  // the head's storage spec
  std::string tls_dir;      // the cluster's TLS directory; empty: plain TCP
  std::string restored;     // what the head restored from it ("3 alive nodes, ..."); empty: a new cluster
  DaemonProcess raylet;
  // The head's raylet was running already and was adopted (not our child; its pidfd still
  // tells when it exits).
  bool adopted_raylet = false;
};

// A new session with a new token, the GCS, then a raylet. On failure nothing is left running.
// When the newest session of the root is a head on the same port whose GCS and orrery-head
// are gone but whose raylet runs, the GCS serves in that session instead and, if it restored
// the cluster, the running raylet is adopted rather than a second one started.
absl::StatusOr<StartedNode> StartHead(const HeadOptions& options);

// A raylet joining the cluster at `address`, after checking the address and token answer. On
// the head's host (the same root) it uses the head's TLS directory when the cluster has one.
absl::StatusOr<StartedNode> JoinCluster(const std::string& address, const std::string& token,
                                        const NodeOptions& options);

// Where a command talks to: `address`/`token` when given, else ORRERY_ADDRESS/ORRERY_TOKEN,
// else the newest session under `temp_dir` (and its token file).
struct ClusterTarget {
  std::string address;
  std::string token;
  // The cluster's TLS directory on this host ($ORRERY_TLS_DIR, else the one its session on this
  // host records); empty: the cluster speaks plain TCP, or this host has no session of it.
  std::string tls_dir;
  // This host's session of that cluster says it runs with --tls=off.
  bool known_plain = false;
};
absl::StatusOr<ClusterTarget> ResolveCluster(const std::string& address, const std::string& token,
                                             const std::string& temp_dir);

// Checks that a GCS answers at `address` and accepts `token`; the error says which failed.
absl::Status CheckCluster(const std::string& address, const std::string& token);

// CheckCluster, but when no GCS answers while a raylet of that cluster runs on this host (under
// `temp_dir`, or the default root), the cluster exists and its GCS is away (restarting): waits
// for it as long as that raylet does (its --gcs-lost-timeout-ms), checking every 500 ms.
absl::Status WaitForCluster(const std::string& address, const std::string& token, const std::string& temp_dir);

}  // namespace orrery::launcher
