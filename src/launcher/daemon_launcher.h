// Starting Orrery's daemons as detached processes and waiting until they serve. Used by the
// CLI (`orrery start`) and by a driver's Init() that starts a local cluster by itself.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace orrery::launcher {

// The directory holding orrery-gcs and orrery-raylet: $ORRERY_BIN_DIR, else beside this
// executable, else the install and build locations compiled in. NotFound names where it looked.
absl::StatusOr<std::string> FindBinDir();

struct DaemonProcess {
  pid_t pid = -1;
  // Owned by the caller: readable when the daemon exits; reap it with TryReap (a process that
  // outlives its starter is reaped by init instead).
  int pidfd = -1;
  nlohmann::json ready;  // what the daemon reported: port, node id, ...
};

// Runs `binary` with `args` plus --ready-fd, in its own session (so it outlives the caller and
// `orrery stop` can end its whole process group), output appended to `output_path`. Waits up to
// `timeout_ms` for its ready line; on failure the daemon is killed and the error is its own.
// `die_with_caller` also kills the daemon when the calling thread exits (tests use it so that
// a crashed test leaves nothing behind).
// `env` is added to its environment (for what must not show in `ps`, such as a password).
absl::StatusOr<DaemonProcess> StartDaemon(const std::string& binary, std::vector<std::string> args,
                                          const std::string& output_path, int64_t timeout_ms,
                                          bool die_with_caller = false,
                                          const std::map<std::string, std::string>& env = {});

}  // namespace orrery::launcher
