#include "src/common/logging.h"

#include <vector>

#include "absl/synchronization/mutex.h"

#include "spdlog/sinks/basic_file_sink.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace orrery {

namespace {
// Debian's Abseil is built with the Mutex deadlock detector on: it records every lock order in
// a global graph, a cost on every lock taken. Release builds turn it off (this file is linked
// into every Orrery process); other builds keep it.
#ifdef NDEBUG
[[maybe_unused]] const bool kDeadlockDetectionOff = [] {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return true;
}();
#endif
}  // namespace

std::string LogFilePath(const LoggingOptions& options) {
  std::string name = options.component;
  if (!options.id.empty()) name += "-" + options.id;
  return options.log_dir + "/" + name + ".log";
}

absl::Status InitLogging(const LoggingOptions& options) {
  spdlog::level::level_enum level = spdlog::level::from_str(options.level);
  if (spdlog::level::to_string_view(level) != options.level && options.level != "warning") {
    return absl::InvalidArgumentError("unknown log level '" + options.level +
                                      "'; use trace, debug, info, warn, error or critical");
  }
  std::vector<spdlog::sink_ptr> sinks;
  if (!options.log_dir.empty()) {
    try {
      sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(LogFilePath(options)));
    } catch (const spdlog::spdlog_ex& e) {
      return absl::UnavailableError(std::string("cannot open log file: ") + e.what());
    }
  }
  if (options.also_stderr || sinks.empty()) {
    auto err = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    // With a log file, the terminal only needs what went wrong.
    if (!options.log_dir.empty()) err->set_level(spdlog::level::warn);
    sinks.push_back(err);
  }
  auto logger = std::make_shared<spdlog::logger>(options.component, sinks.begin(), sinks.end());
  logger->set_level(level);
  logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%n %P:%t] [%l] %v");
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return absl::OkStatus();
}

}  // namespace orrery
