// The on-disk layout every process of a host shares. One root (--temp-dir, ORRERY_TEMP_DIR,
// default /tmp/orrery) holds a directory per cluster session:
//
//   <root>/session_<date>_<time>_<pid>/
//     cluster.json     the GCS address and cluster id, for commands run on this host
//     token            the cluster token (0600)
//     logs/            <component>-<id>.log of every process
//     pids/            one record per daemon, what `orrery stop` stops
//     node_<node id>/  one per raylet (0700): its sockets (raylet.sock, store.sock) and spill/
//
// Paths stay short because a Unix socket path may not exceed 107 bytes: with the default root a
// raylet's socket is 91 bytes long.
//   <root>/session_latest -> the newest session
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "src/common/id.h"

namespace orrery {

inline constexpr char kDefaultTempDir[] = "/tmp/orrery";

// $ORRERY_TEMP_DIR, or /tmp/orrery.
std::string DefaultTempDir();

class SessionDir {
 public:
  SessionDir() = default;
  explicit SessionDir(std::string path) : path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  std::string LogsDir() const { return path_ + "/logs"; }
  std::string PidsDir() const { return path_ + "/pids"; }
  // Prometheus scrape targets (targets.json), kept by the head.
  std::string MetricsTargetsFile() const { return path_ + "/metrics/targets.json"; }
  std::string TokenFile() const { return path_ + "/token"; }
  std::string ClusterFile() const { return path_ + "/cluster.json"; }
  // The head's --gcs-storage, for `orrery stop` (which deletes embedded storage it names).
  std::string GcsStorageFile() const { return path_ + "/gcs_storage"; }
  std::string NodeDir(const NodeId& node) const { return path_ + "/node_" + node.Hex(); }
  // The raylet's socket for local workers and drivers.
  std::string RayletSocket(const NodeId& node) const { return NodeDir(node) + "/raylet.sock"; }
  // The socket of the raylet's shared-memory object store, and where its objects spill.
  std::string StoreSocket(const NodeId& node) const { return NodeDir(node) + "/store.sock"; }
  std::string SpillDir(const NodeId& node) const { return NodeDir(node) + "/spill"; }
  // The raylet's settings that the node's drivers follow too (NodeSettings).
  std::string NodeSettingsFile(const NodeId& node) const { return NodeDir(node) + "/settings.json"; }

  // Creates logs/ and pids/ (and the session directory itself) if missing.
  absl::Status EnsureLayout() const;

 private:
  std::string path_;
};

// A new session directory under `root`, with session_latest pointing at it.
absl::StatusOr<SessionDir> CreateSession(const std::string& root);

// What session_latest points at; NotFound when `root` has no session.
absl::StatusOr<SessionDir> LatestSession(const std::string& root);

// Every session directory under `root`, oldest first.
std::vector<SessionDir> AllSessions(const std::string& root);

// What a command on this host needs to reach the cluster of a session.
struct ClusterRecord {
  std::string gcs_address;  // HOST:PORT
  std::string cluster_id;   // hex
  std::string version;
  int64_t created_ms = 0;
  bool head = false;        // this host runs the GCS of the cluster
  std::string head_node_id; // hex: the raylet `orrery start --head` started beside the GCS
  std::string tls_dir;      // the cluster's TLS directory on this host; empty: plain TCP
};
absl::Status WriteClusterRecord(const SessionDir& session, const ClusterRecord& record);
absl::StatusOr<ClusterRecord> ReadClusterRecord(const SessionDir& session);

// The settings of a node's raylet that drivers started on that node follow too.
struct NodeSettings {
  int64_t gcs_lost_timeout_ms = 0;  // how long to wait for a GCS that is away; 0: not recorded
  bool bind_all = false;            // listen on every interface, not only the node IP
};
absl::Status WriteNodeSettings(const SessionDir& session, const NodeId& node, const NodeSettings& settings);
// NotFound or DataLoss when the node's raylet wrote none (or something unreadable).
absl::StatusOr<NodeSettings> ReadNodeSettings(const SessionDir& session, const NodeId& node);

// The GCS storage spec a head of this session uses (GcsStorageFile()); NotFound when none.
absl::Status WriteGcsStorageRecord(const SessionDir& session, const std::string& spec);
absl::StatusOr<std::string> ReadGcsStorageRecord(const SessionDir& session);

// 32 random bytes, hex.
std::string GenerateToken();
absl::Status WriteToken(const std::string& path, const std::string& token);
// Reads a token file, trimming whitespace; refuses a file others can read.
absl::StatusOr<std::string> ReadToken(const std::string& path);

// A daemon records itself so that `orrery stop` can find it and tell a reused pid apart.
struct PidRecord {
  std::string name;  // "gcs", "raylet-<node id>"
  pid_t pid = -1;
  uint64_t start_time = 0;
  std::string path;
};
absl::Status WritePidRecord(const SessionDir& session, const std::string& name, pid_t pid);
// Removes the record `name` (a process that ended); no error if there is none.
void RemovePidRecord(const SessionDir& session, const std::string& name);
std::vector<PidRecord> ReadPidRecords(const SessionDir& session);
// True when `record` still names the same, live process.
bool PidRecordAlive(const PidRecord& record);

}  // namespace orrery
