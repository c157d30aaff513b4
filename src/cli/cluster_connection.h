// What every command that talks to a running cluster shares: the flags that name the cluster,
// and a connection to its GCS that has been checked to answer and to accept the token.
#pragma once

#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "src/state/cluster_connection.h"

namespace orrery::cli {

using state::CallGcs;
using state::ClusterConnection;
using state::DescribeCallError;
using state::kCallGcsTimeoutMs;

struct ClusterFlags {
  std::string address;
  std::string token;
  std::string temp_dir;
};

// Adds --address, --token and --temp-dir to `command`, storing into `flags`.
void AddClusterFlags(CLI::App& command, ClusterFlags& flags);

// Finds the cluster the flags name (else ORRERY_ADDRESS/ORRERY_TOKEN, else the newest local
// session) and checks that its GCS answers and accepts the token; the error says which failed.
absl::StatusOr<ClusterConnection> ConnectToCluster(const ClusterFlags& flags);

}  // namespace orrery::cli
