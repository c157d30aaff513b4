// Logging set-up shared by every process: spdlog to logs/<component>-<id>.log in the session
// directory, and warnings and errors to stderr as well so that a failed start is visible.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace orrery {

struct LoggingOptions {
  std::string component;  // "gcs", "raylet", "worker", ...
  std::string id;         // node id for a raylet, worker id for a worker
  std::string log_dir;    // empty: stderr only
  std::string level = "info";
  bool also_stderr = true;
};

// Installs the process-wide default spdlog logger. Safe to call again (e.g. after fork()).
absl::Status InitLogging(const LoggingOptions& options);

// The file InitLogging writes: <log_dir>/<component>-<id>.log.
std::string LogFilePath(const LoggingOptions& options);

}  // namespace orrery
