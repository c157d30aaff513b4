// What a raylet reads of its host's use for /metrics, beside its memory (memory_monitor.h):
// CPU time from /proc/stat, and each GPU's utilization and memory from nvidia-smi. Parsing is
// pure, so that it is unit-tested on recorded outputs.
#pragma once

#include <cstdint>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace orrery::raylet {

// Seconds the host's CPUs spent, all of them together, since boot.
struct CpuSeconds {
  double busy = 0;  // user, nice, system, irq, softirq, steal
  double idle = 0;  // idle and iowait
};

// The "cpu " line of /proc/stat's text, in clock ticks of `ticks_per_second`.
absl::StatusOr<CpuSeconds> ParseProcStat(const std::string& text, long ticks_per_second);
absl::StatusOr<CpuSeconds> ReadCpuSeconds(const std::string& path = "/proc/stat");

struct GpuUsage {
  std::string index;  // as nvidia-smi numbers the GPU
  double utilization_ratio = 0;
  double memory_used_bytes = 0;
  double memory_total_bytes = 0;
};

// The command whose output ParseGpuUsage reads.
inline constexpr char kGpuUsageCommand[] =
    "nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits "
    "2>/dev/null";

// Lines "0, 37, 1024, 81559" (percent and MiB); a line that does not parse (a GPU nvidia-smi
// reports "[N/A]" for) is left out.
std::vector<GpuUsage> ParseGpuUsage(const std::string& csv);

// Runs kGpuUsageCommand every `period` on a thread of its own and keeps the latest reading:
// nvidia-smi takes tens of milliseconds, too long to run inside a scrape.
class GpuUsageSampler {
 public:
  using Run = std::function<std::string(const std::string& command)>;
  GpuUsageSampler(Run run, std::chrono::milliseconds period);
  ~GpuUsageSampler();
  GpuUsageSampler(const GpuUsageSampler&) = delete;
  GpuUsageSampler& operator=(const GpuUsageSampler&) = delete;

  std::vector<GpuUsage> Latest() const;

 private:
  void Loop();

  const Run run_;
  const std::chrono::milliseconds period_;
  mutable absl::Mutex mu_;
  std::vector<GpuUsage> latest_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace orrery::raylet
