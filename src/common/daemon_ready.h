// How a daemon tells whoever started it that it is serving (or why it is not): one JSON line
// on an inherited pipe (--ready-fd). The starter waits on the pipe instead of polling a port.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace orrery {

// Writes {"ok": true, ...fields} and closes the descriptor. No-op for fd < 0.
void ReportReady(int fd, const nlohmann::json& fields);
// Writes {"ok": false, "error": message} and closes the descriptor. No-op for fd < 0.
void ReportFailed(int fd, const std::string& error);

// Reads the one line from `fd` (the read end), waiting up to `timeout_ms`. A daemon that
// failed gives its error; one that died silently or never answered gives an error naming
// `what` and its log file.
absl::StatusOr<nlohmann::json> WaitForReady(int fd, int64_t timeout_ms, const std::string& what,
                                            const std::string& log_hint);

}  // namespace orrery
