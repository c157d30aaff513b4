// The test's own driver in a cluster started with the CLI (cli_cluster.h): joined once for a
// suite, and at the end shut down with the cluster, whose temp root goes too (unless
// ORRERY_TEST_KEEP_DIR is set, to look at its logs).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include "cli_cluster.h"
#include "gmock/gmock.h"
#include "orrery/api.h"

namespace orrery::testing {

// `tls`: false for a cluster started with --tls=off (a driver with TLS on refuses it).
inline void InitDriver(const CliCluster& cluster, const std::string& root, bool tls = true) {
  orrery::Config config;
  config.address = cluster.address;
  config.token = cluster.token;
  config.temp_dir = root;
  config.tls = tls;
  orrery::Init(config);
}

inline void ShutdownDriverAndCluster(const std::string& root) {
  orrery::Shutdown();
  std::string stopped = Cli("stop --temp-dir " + root);
  EXPECT_THAT(stopped, ::testing::HasSubstr("Stopped")) << stopped;
  if (std::getenv("ORRERY_TEST_KEEP_DIR") == nullptr) std::filesystem::remove_all(root);
}

}  // namespace orrery::testing
