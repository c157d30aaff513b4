#include "src/raylet/memory_monitor.h"

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "src/common/file_util.h"
#include "src/common/log.h"

namespace orrery::raylet {

namespace {

// The kB value of `field` ("MemTotal") in /proc/meminfo's text, in bytes.
absl::StatusOr<int64_t> MeminfoBytes(absl::string_view meminfo, absl::string_view field) {
  for (absl::string_view line : absl::StrSplit(meminfo, '\n')) {
    if (!absl::ConsumePrefix(&line, field) || !absl::ConsumePrefix(&line, ":")) continue;
    line = absl::StripAsciiWhitespace(line);
    absl::ConsumeSuffix(&line, "kB");
    int64_t kib = 0;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &kib)) break;
    return kib * 1024;
  }
  return absl::InvalidArgumentError(absl::StrCat("/proc/meminfo has no ", field));
}

}  // namespace

absl::StatusOr<MemoryUsage> ParseMeminfo(absl::string_view meminfo) {
  absl::StatusOr<int64_t> total = MeminfoBytes(meminfo, "MemTotal");
  if (!total.ok()) return total.status();
  absl::StatusOr<int64_t> available = MeminfoBytes(meminfo, "MemAvailable");
  if (!available.ok()) return available.status();
  return MemoryUsage{*total - *available, *total};
}

absl::StatusOr<MemoryUsage> ParseCgroupMemory(absl::string_view current, absl::string_view max) {
  max = absl::StripAsciiWhitespace(max);
  if (max == "max") return absl::NotFoundError("the cgroup has no memory limit");
  MemoryUsage usage;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(current), &usage.used_bytes) ||
      !absl::SimpleAtoi(max, &usage.total_bytes) || usage.total_bytes <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("unreadable cgroup memory: current '", current, "', max '", max, "'"));
  }
  return usage;
}

MemorySource MemorySource::ForThisProcess() {
  MemorySource source;
  if (const char* file = std::getenv("ORRERY_TESTING_MEMORY_USAGE_FILE"); file != nullptr) {
    source.testing_usage_file = file;
  }
  // cgroup v2: one line "0::/PATH".
  if (absl::StatusOr<std::string> cgroup = ReadFileToString("/proc/self/cgroup"); cgroup.ok()) {
    for (absl::string_view line : absl::StrSplit(*cgroup, '\n')) {
      if (absl::ConsumePrefix(&line, "0::")) source.cgroup_dir = absl::StrCat("/sys/fs/cgroup", line);
    }
  }
  return source;
}

absl::StatusOr<MemoryUsage> ReadMemoryUsage(const MemorySource& source) {
  absl::StatusOr<MemoryUsage> host = absl::NotFoundError("no cgroup");
  if (!source.cgroup_dir.empty()) {
    absl::StatusOr<std::string> current = ReadFileToString(source.cgroup_dir + "/memory.current");
    absl::StatusOr<std::string> max = ReadFileToString(source.cgroup_dir + "/memory.max");
    if (current.ok() && max.ok()) host = ParseCgroupMemory(*current, *max);
  }
  if (!host.ok()) {
    absl::StatusOr<std::string> meminfo = ReadFileToString(source.meminfo_path);
    if (!meminfo.ok()) return meminfo.status();
    host = ParseMeminfo(*meminfo);
    if (!host.ok()) return host.status();
  }
  if (source.testing_usage_file.empty()) return host;
  absl::StatusOr<std::string> text = ReadFileToString(source.testing_usage_file);
  double fraction = 0;
  if (!text.ok() || !absl::SimpleAtod(absl::StripAsciiWhitespace(*text), &fraction) || fraction < 0) {
    return absl::InvalidArgumentError("ORRERY_TESTING_MEMORY_USAGE_FILE " + source.testing_usage_file +
                                      " does not hold a fraction");
  }
  host->used_bytes = static_cast<int64_t>(fraction * static_cast<double>(host->total_bytes));
  return host;
}

MemoryMonitor::MemoryMonitor(boost::asio::io_context& io, Options options, PressureCallback on_pressure)
    : options_(std::move(options)), on_pressure_(std::move(on_pressure)), timer_(io) {}

void MemoryMonitor::Start() {
  if (options_.refresh_ms <= 0) return;
  const std::string& file = options_.source.testing_usage_file;
  spdlog::info("memory monitor: every {} ms, killing a worker above {:.2f} of the host's memory{}",
               options_.refresh_ms, options_.threshold, file.empty() ? "" : " (use read from " + file + ")");
  Tick();
}

void MemoryMonitor::Stop() {
  stopped_ = true;
  timer_.cancel();
}

void MemoryMonitor::Tick() {
  if (stopped_) return;
  absl::StatusOr<MemoryUsage> usage = ReadMemoryUsage(options_.source);
  if (!usage.ok()) {
    if (!warned_) spdlog::warn("memory monitor: {}", usage.status().message());
    warned_ = true;
  } else {
    warned_ = false;
    last_ = *usage;
    if (last_.fraction() > options_.threshold) on_pressure_(last_);
  }
  timer_.expires_after(std::chrono::milliseconds(options_.refresh_ms));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) Tick();
  });
}

}  // namespace orrery::raylet
