// A test suite's cluster that Init() starts by itself under a fresh temp root, and its end.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include "orrery/api.h"
#include "temp_root.h"

namespace orrery::testing {

// Starts the cluster (a head with `cpus` CPUs) under a new temp root; returns the root.
inline std::string InitLocalCluster(int cpus = 2) {
  std::string root = MakeTempRoot();
  orrery::Config config;
  config.temp_dir = root;
  config.head_args = {"--num-cpus", std::to_string(cpus)};
  orrery::Init(config);
  return root;
}

// Shuts the runtime down and removes `root`, unless ORRERY_TEST_KEEP_DIR is set (to read its
// logs).
inline void ShutdownLocalCluster(const std::string& root) {
  orrery::Shutdown();
  if (std::getenv("ORRERY_TEST_KEEP_DIR") == nullptr) std::filesystem::remove_all(root);
}

}  // namespace orrery::testing
