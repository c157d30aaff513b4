// A private temp-dir root for a test's local cluster, short enough for the Unix socket paths
// under it (at most 107 bytes).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace orrery::testing {

inline std::string MakeTempRoot() {
  std::string pattern = (std::filesystem::temp_directory_path() / "ot-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

}  // namespace orrery::testing
