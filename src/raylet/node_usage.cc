#include "src/raylet/node_usage.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace orrery::raylet {

absl::StatusOr<CpuSeconds> ParseProcStat(const std::string& text, long ticks_per_second) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, "cpu ")) continue;
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    // cpu user nice system idle iowait irq softirq steal [guest guest_nice: inside user, nice]
    if (fields.size() < 9) break;
    double ticks[8];
    for (int i = 0; i < 8; ++i) {
      if (!absl::SimpleAtod(fields[i + 1], &ticks[i])) return absl::DataLossError("/proc/stat: a cpu field is no number");
    }
    const double per_second = static_cast<double>(ticks_per_second);
    return CpuSeconds{(ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7]) / per_second,
                      (ticks[3] + ticks[4]) / per_second};
  }
  return absl::DataLossError("/proc/stat has no 'cpu' line of eight numbers");
}

absl::StatusOr<CpuSeconds> ReadCpuSeconds(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return ParseProcStat(text.str(), sysconf(_SC_CLK_TCK));
}

std::vector<GpuUsage> ParseGpuUsage(const std::string& csv) {
  constexpr double kMiB = 1024.0 * 1024.0;
  std::vector<GpuUsage> gpus;
  for (absl::string_view line : absl::StrSplit(csv, '\n', absl::SkipWhitespace())) {
    std::vector<std::string> fields = absl::StrSplit(line, ',');
    if (fields.size() != 4) continue;
    for (std::string& field : fields) absl::StripAsciiWhitespace(&field);
    double percent, used_mib, total_mib;
    if (fields[0].empty() || !absl::SimpleAtod(fields[1], &percent) || !absl::SimpleAtod(fields[2], &used_mib) ||
        !absl::SimpleAtod(fields[3], &total_mib)) {
      continue;
    }
    gpus.push_back(GpuUsage{fields[0], percent / 100, used_mib * kMiB, total_mib * kMiB});
  }
  return gpus;
}

GpuUsageSampler::GpuUsageSampler(Run run, std::chrono::milliseconds period)
    : run_(std::move(run)), period_(period), thread_([this] { Loop(); }) {}

GpuUsageSampler::~GpuUsageSampler() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

std::vector<GpuUsage> GpuUsageSampler::Latest() const {
  absl::MutexLock lock(&mu_);
  return latest_;
}

void GpuUsageSampler::Loop() {
  const absl::Duration period = absl::FromChrono(period_);
  while (true) {
    std::vector<GpuUsage> reading = ParseGpuUsage(run_(kGpuUsageCommand));
    absl::MutexLock lock(&mu_);
    latest_ = std::move(reading);
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), period)) return;
  }
}

}  // namespace orrery::raylet
