// The runtime's log, for a program's own lines (ray_compat's RAYLOG): they go where the
// process's runtime log goes, in a worker its log file in the session's logs/, in a driver
// stderr. Severities are Ray's RayLoggerLevel numbers.
#pragma once

#include <string>

#include "orrery/export.h"

namespace orrery::internal {

enum class UserLogSeverity { kDebug = -1, kInfo = 0, kWarning = 1, kError = 2, kFatal = 3 };

// Whether a line of this severity would be written (the process's log level, --orrery_log_level).
ORRERY_EXPORT bool UserLogEnabled(UserLogSeverity severity);
// Writes one line, naming `file`:`line`. kFatal writes it, to stderr as well, and aborts the process.
ORRERY_EXPORT void UserLog(UserLogSeverity severity, const char* file, int line, const std::string& message);

// A value recorded to a program's own metric (ray_compat's ray::Gauge and the like). Metrics
// are not exported yet: the value is dropped, and the first one in a process says so in one
// log line naming the metric.
ORRERY_EXPORT void DropUserMetric(const std::string& metric_name);

}  // namespace orrery::internal
