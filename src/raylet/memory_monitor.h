// MemoryMonitor: the host's memory use, read every refresh period, and a call when it is over
// the threshold (the raylet then kills one worker: NodeManager::OnMemoryPressure), so that the
// kernel's OOM killer does not pick a raylet or the GCS. Where the use comes from: cgroup v2
// memory.current over memory.max of this process's cgroup when that has a limit, else
// /proc/meminfo (MemTotal less MemAvailable); for tests, ORRERY_TESTING_MEMORY_USAGE_FILE names
// a file holding the fraction of the host in use.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/steady_timer.hpp"

namespace orrery::raylet {

struct MemoryUsage {
  int64_t used_bytes = 0;
  int64_t total_bytes = 0;
  double fraction() const { return total_bytes > 0 ? static_cast<double>(used_bytes) / total_bytes : 0; }
};

// Where the host's memory use is read.
struct MemorySource {
  // A file holding the fraction in use (0-1), for tests; the total is still the host's.
  std::string testing_usage_file;
  // The cgroup v2 folder of this process ("" when it is in none).
  std::string cgroup_dir;
  std::string meminfo_path = "/proc/meminfo";

  // This process's: ORRERY_TESTING_MEMORY_USAGE_FILE, and its cgroup from /proc/self/cgroup.
  static MemorySource ForThisProcess();
};

// /proc/meminfo's text: MemTotal less MemAvailable.
absl::StatusOr<MemoryUsage> ParseMeminfo(absl::string_view meminfo);
// A cgroup's memory.current and memory.max; NotFound when it has no limit ("max").
absl::StatusOr<MemoryUsage> ParseCgroupMemory(absl::string_view current, absl::string_view max);
absl::StatusOr<MemoryUsage> ReadMemoryUsage(const MemorySource& source);

// Owned and called by the raylet event loop only.
class MemoryMonitor {
 public:
  struct Options {
    // Above this fraction of the host's memory in use, `on_pressure` is called (each period).
    double threshold = 0.95;
    // 0: the monitor is off.
    int64_t refresh_ms = 250;
    MemorySource source;
  };
  using PressureCallback = std::function<void(const MemoryUsage&)>;

  MemoryMonitor(boost::asio::io_context& io, Options options, PressureCallback on_pressure);

  void Start();
  void Stop();
  // The last reading (zero before the first, or when the monitor is off).
  const MemoryUsage& last() const { return last_; }
  const Options& options() const { return options_; }

 private:
  void Tick();

  const Options options_;
  PressureCallback on_pressure_;
  boost::asio::steady_timer timer_;
  MemoryUsage last_;
  bool warned_ = false;  // a failed reading is logged once
  bool stopped_ = false;
};

}  // namespace orrery::raylet
