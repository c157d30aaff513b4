#include "orrery/internal/user_log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "orrery/errors.h"
#include "spdlog/sinks/basic_file_sink.h"
#include "spdlog/spdlog.h"

namespace orrery::internal {

namespace {
spdlog::level::level_enum LevelOf(UserLogSeverity severity) {
  switch (severity) {
    case UserLogSeverity::kTrace:
      return spdlog::level::trace;
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

// The program's own log file, when it asked for one. Loggers set here are never freed (a line
// being written on another thread may hold one), but kept in `started` so that they stay
// reachable (no leak) after StopUserLogFile: a program starts its log once or twice.
std::atomic<spdlog::logger*> user_file_logger{nullptr};
std::mutex started_mu;
std::vector<std::unique_ptr<spdlog::logger>>& Started() {
  static auto* started = new std::vector<std::unique_ptr<spdlog::logger>>();
  return *started;
}

spdlog::logger* UserLogger() {
  spdlog::logger* own = user_file_logger.load(std::memory_order_acquire);
  return own != nullptr ? own : spdlog::default_logger_raw();
}
}  // namespace

void StartUserLogFile(const std::string& app_name, UserLogSeverity threshold, const std::string& log_dir) {
  std::error_code error;
  std::filesystem::create_directories(log_dir, error);
  std::string path = (std::filesystem::path(log_dir) / (app_name + ".log")).string();
  try {
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path);
    auto logger = std::make_unique<spdlog::logger>("user-log:" + path, std::move(sink));
    logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
    logger->set_level(LevelOf(threshold));
    logger->flush_on(spdlog::level::trace);
    std::lock_guard<std::mutex> lock(started_mu);
    user_file_logger.store(logger.get(), std::memory_order_release);
    Started().push_back(std::move(logger));
  } catch (const spdlog::spdlog_ex& e) {
    throw OrreryException("cannot start the log file " + path + ": " + e.what());
  }
}

void StopUserLogFile() { user_file_logger.store(nullptr, std::memory_order_release); }

bool UserLogEnabled(UserLogSeverity severity) {
  return severity == UserLogSeverity::kFatal || UserLogger()->should_log(LevelOf(severity));
}

void UserLog(UserLogSeverity severity, const char* file, int line, const std::string& message) {
  spdlog::logger* logger = UserLogger();
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

}  // namespace orrery::internal
