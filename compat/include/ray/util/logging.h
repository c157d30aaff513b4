/// Ray's <ray/util/logging.h> as far as programs use it (an internal header of Ray's that its
/// API tests include): RAYLOG, a log file of the program's own (RayLog::StartRayLog) and Ray's
/// RayLogLevel (both in ray/api/logging.h), and RAY_CHECK.
///
///   ray::RayLog::StartRayLog("my_app", ray::RayLogLevel::DEBUG, "/tmp/logs/");
///   RAYLOG(DEBUG) << "written to /tmp/logs/my_app.log";
///   RAY_CHECK(rows > 0) << "no rows";   // writes the line, then aborts, when false
#pragma once

#include "ray/api/logging.h"

#define RAY_CHECK(condition)                                                          \
  (condition) ? (void)0                                                                 \
              : ::ray::internal::RayLogVoidify() &                                      \
                    *::ray::CreateRayLogger(__FILE__, __LINE__, ::ray::RayLoggerLevel::FATAL) \
                        << "Check failed: " #condition " "
