// ChaosCluster: the chaos suite's cluster, started as a user starts one (tests/integration/
// cli_cluster.h): `orrery start --head` on a port of its own with RocksDB storage, so that its
// GCS can be killed and come back (orrery-head starts it again), then raylets joined with
// `orrery start --address ... --token ...`. Every daemon is started with the same extra
// environment (the injected RPC failures), which the workers and job drivers they start
// inherit. Stopped, and its temp root removed, when destroyed, whatever the test did.
// Used by the test's thread only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace orrery::chaos {

// Every raylet offers the same: 2 CPUs and a 512 MiB store (a wave holds 8 MiB of blocks).
constexpr char kNodeFlags[] = "--num-cpus 2 --node-ip-address 127.0.0.1 --object-store-memory 536870912";

// A row's `key` as text, or "" when it is missing or null (`orrery list` writes null for "-").
inline std::string TextOf(const nlohmann::json& row, const std::string& key) {
  auto it = row.find(key);
  return it != row.end() && it->is_string() ? it->get<std::string>() : "";
}

// A row's `key` as a number, or 0 when it is missing or null.
inline int64_t NumberOf(const nlohmann::json& row, const std::string& key) {
  auto it = row.find(key);
  return it != row.end() && it->is_number() ? it->get<int64_t>() : 0;
}

// The rows of `orrery list KIND_AND_FILTERS --format json --limit 0` for the cluster under `root`;
// empty when the cluster did not answer (the GCS being restarted, say). Warnings on stderr are
// left out.
nlohmann::json ListRowsOf(const std::string& root, const std::string& kind_and_filters);

class ChaosCluster {
 public:
  // `daemon_env`: NAME -> value for every daemon the cluster starts.
  explicit ChaosCluster(std::map<std::string, std::string> daemon_env);
  ~ChaosCluster();
  ChaosCluster(const ChaosCluster&) = delete;
  ChaosCluster& operator=(const ChaosCluster&) = delete;

  // The head, then raylets joined to it until there are `raylets`.
  ::testing::AssertionResult Start(int raylets);
  // One more raylet joined to the head (as the killer replaces one it killed): its node id.
  ::testing::AssertionResult JoinRaylet(std::string* node_id);

  // `orrery ARGS` against this cluster (found through its temp root): stdout and stderr.
  std::string Cli(const std::string& args) const;
  // ListRowsOf this cluster.
  nlohmann::json ListRows(const std::string& kind_and_filters) const { return ListRowsOf(root_, kind_and_filters); }
  // The environment a driver of this cluster runs with: its address, token and root, and the
  // daemons' extra environment (so that its RPCs fail as theirs do).
  std::map<std::string, std::string> DriverEnv() const;

  // Whether every alive node comes to use none of its resources (available == total) within
  // `seconds`; the nodes still using some otherwise.
  ::testing::AssertionResult EveryNodeIdleWithin(int seconds) const;
  // `orrery stop`; what it printed. Once: later calls (and the destructor) do nothing.
  std::string Stop();

  const std::string& root() const { return root_; }
  const std::string& head_node() const { return head_node_; }

 private:
  // "NAME='value' ..." for the front of a shell command.
  std::string EnvPrefix() const;

  std::map<std::string, std::string> daemon_env_;
  std::string root_;
  std::string address_;
  std::string token_;
  std::string head_node_;
  std::string join_;  // `start --address ... --token ...` with the node flags and root
  bool stopped_ = false;
};

}  // namespace orrery::chaos
