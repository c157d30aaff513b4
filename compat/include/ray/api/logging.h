/// Ray's RAYLOG: `RAYLOG(INFO) << "loaded " << n << " rows";` writes one line to the process's
/// runtime log, naming the file and line: in a worker its log file under the session's logs/
/// (worker-<id>.log), in a driver its driver-<job>-<pid>.log there (stderr before Init() and in
/// local mode). Levels DEBUG, INFO, WARNING, ERROR and FATAL (which aborts, as in
/// Ray, and to stderr too); a line below the process's log level (info; a driver's:
/// --orrery_log_level) is not even formatted.
#pragma once

#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "orrery/internal/user_log.h"

namespace ray {

enum class RayLoggerLevel { DEBUG = -1, INFO = 0, WARNING = 1, ERROR = 2, FATAL = 3 };
/// The threshold of RayLog::StartRayLog (Ray declares it in ray/util/logging.h).
enum class RayLogLevel { TRACE = -2, DEBUG = -1, INFO = 0, WARNING = 1, ERROR = 2, FATAL = 3 };

/// A line being written: `<<` appends to it (nothing, when its level is off).
class RayLogger {
 public:
  virtual ~RayLogger() = default;
  virtual bool IsEnabled() const = 0;

  template <typename T>
  RayLogger& operator<<(const T& value) {
    if (IsEnabled()) Stream() << value;
    return *this;
  }
  /// std::endl, std::hex and the like.
  RayLogger& operator<<(std::ostream& (*manipulator)(std::ostream&)) {
    if (IsEnabled()) Stream() << manipulator;
    return *this;
  }

 protected:
  virtual std::ostream& Stream() = 0;
};

/// The line RAYLOG makes: written to the runtime's log when it goes out of scope.
class RayLog : public RayLogger {
 public:
  RayLog(const char* file_name, int line_number, RayLoggerLevel severity)
      : file_(file_name), line_(line_number), severity_(severity), enabled_(IsLevelEnabled(severity)) {}
  RayLog(const RayLog&) = delete;
  RayLog& operator=(const RayLog&) = delete;
  ~RayLog() override {
    if (enabled_) orrery::internal::UserLog(Severity(severity_), file_, line_, stream_.str());
  }

  bool IsEnabled() const override { return enabled_; }
  static bool IsLevelEnabled(RayLoggerLevel level) { return orrery::internal::UserLogEnabled(Severity(level)); }

  /// The program's RAYLOG lines go to <log_dir>/<app_name>.log from now on, at `threshold` and
  /// above (log_dir is made when missing; a file that cannot be opened throws RayException).
  /// An empty log_dir leaves them in the runtime's log.
  static void StartRayLog(const std::string& app_name, RayLogLevel threshold = RayLogLevel::INFO,
                          const std::string& log_dir = "") {
    if (log_dir.empty()) return;
    orrery::internal::StartUserLogFile(app_name, static_cast<orrery::internal::UserLogSeverity>(threshold), log_dir);
  }
  /// Back to the runtime's log.
  static void ShutDownRayLog() { orrery::internal::StopUserLogFile(); }

 protected:
  std::ostream& Stream() override { return stream_; }

 private:
  static orrery::internal::UserLogSeverity Severity(RayLoggerLevel level) {
    return static_cast<orrery::internal::UserLogSeverity>(static_cast<int>(level));
  }

  const char* file_;
  int line_;
  RayLoggerLevel severity_;
  bool enabled_;
  std::ostringstream stream_;
};

inline std::unique_ptr<RayLogger> CreateRayLogger(const char* file_name, int line_number, RayLoggerLevel severity) {
  return std::make_unique<RayLog>(file_name, line_number, severity);
}
inline bool IsLevelEnabled(RayLoggerLevel log_level) { return RayLog::IsLevelEnabled(log_level); }

namespace internal {
// Turns `voidify & stream << ...` into void, so RAYLOG fits both arms of a ?: (and an if/else
// around RAYLOG pairs as written).
struct RayLogVoidify {
  void operator&(RayLogger&) {}
};
}  // namespace internal

}  // namespace ray

#define RAYLOG(level)                                           \
  !::ray::IsLevelEnabled(::ray::RayLoggerLevel::level)          \
      ? (void)0                                                 \
      : ::ray::internal::RayLogVoidify() &                      \
            *::ray::CreateRayLogger(__FILE__, __LINE__, ::ray::RayLoggerLevel::level)
