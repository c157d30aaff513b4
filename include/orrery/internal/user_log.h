// The runtime's log, for a program's own lines (ray_compat's RAYLOG): they go where the
// process's runtime log goes, in a worker its log file in the session's logs/, in a driver
// stderr, unless the program gave them a file of their own. Severities are Ray's RayLogLevel
// numbers.
#pragma once

#include <string>

#include "orrery/export.h"

namespace orrery::internal {

enum class UserLogSeverity { kTrace = -2, kDebug = -1, kInfo = 0, kWarning = 1, kError = 2, kFatal = 3 };

// From now on, the program's own lines go to a file of their own, <log_dir>/<app_name>.log
// (created, with log_dir, when missing), at `threshold` and above: ray_compat's
// RayLog::StartRayLog. A file that cannot be opened throws OrreryException naming its path.
// StopUserLogFile goes back to the runtime's log.
ORRERY_EXPORT void StartUserLogFile(const std::string& app_name, UserLogSeverity threshold,
                                    const std::string& log_dir);
ORRERY_EXPORT void StopUserLogFile();

// Whether a line of this severity would be written (the process's log level, --orrery_log_level).
ORRERY_EXPORT bool UserLogEnabled(UserLogSeverity severity);
// Writes one line, naming `file`:`line`. kFatal writes it, to stderr as well, and aborts the process.
ORRERY_EXPORT void UserLog(UserLogSeverity severity, const char* file, int line, const std::string& message);

}  // namespace orrery::internal
