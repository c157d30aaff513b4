#include "orrery/internal/user_log.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "spdlog/spdlog.h"

namespace orrery::internal {

namespace {
spdlog::level::level_enum LevelOf(UserLogSeverity severity) {
  switch (severity) {
    case UserLogSeverity::kDebug:
      return spdlog::level::debug;
    case UserLogSeverity::kInfo:
      return spdlog::level::info;
    case UserLogSeverity::kWarning:
      return spdlog::level::warn;
    case UserLogSeverity::kError:
      return spdlog::level::err;
    case UserLogSeverity::kFatal:
      return spdlog::level::critical;
  }
  return spdlog::level::info;
}
}  // namespace

bool UserLogEnabled(UserLogSeverity severity) {
  return severity == UserLogSeverity::kFatal || spdlog::default_logger_raw()->should_log(LevelOf(severity));
}

void UserLog(UserLogSeverity severity, const char* file, int line, const std::string& message) {
  spdlog::logger* logger = spdlog::default_logger_raw();
  const char* slash = std::strrchr(file, '/');
  const char* base = slash == nullptr ? file : slash + 1;
  logger->log(spdlog::source_loc{file, line, ""}, LevelOf(severity), "{}:{}: {}", base, line, message);
  if (severity == UserLogSeverity::kFatal) {
    logger->flush();
    // The line that ends the process goes to stderr as well, wherever the log goes.
    std::fprintf(stderr, "fatal: %s:%d: %s\n", base, line, message.c_str());
    std::abort();
  }
}

void DropUserMetric(const std::string& metric_name) {
  static std::once_flag said;
  std::call_once(said, [&] {
    spdlog::info("metric {}: Orrery does not export a program's own metrics yet; recorded values are dropped",
                 metric_name);
  });
}

}  // namespace orrery::internal
