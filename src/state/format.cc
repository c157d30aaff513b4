#include "src/state/format.h"

#include <time.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace orrery::state {

std::string HumanDuration(int64_t ms) {
  int64_t s = ms / 1000;
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrCat(s / 60, "m ", s % 60, "s");
  return absl::StrCat(s / 3600, "h ", (s % 3600) / 60, "m");
}

std::string PreciseDuration(int64_t us) {
  if (us < 1000) return absl::StrCat(us, "us");
  if (us < 1'000'000) return absl::StrFormat("%.1fms", us / 1e3);
  if (us < 60'000'000) return absl::StrFormat("%.2fs", us / 1e6);
  return HumanDuration(us / 1000);
}

std::string LocalTime(int64_t ms) {
  if (ms <= 0) return "-";
  time_t seconds = static_cast<time_t>(ms / 1000);
  struct tm local;
  localtime_r(&seconds, &local);
  char text[32];
  strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &local);
  return text;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string HumanBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 || value >= 10 ? absl::StrCat(static_cast<uint64_t>(value + 0.5), " ", kUnits[unit])
                                  : absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

std::string ResourceUsage(const ResourceSet& total, const ResourceSet& available, const std::string& separator) {
  std::string out;
  for (const auto& [name, amount] : total.quantities()) {
    FixedPoint used = amount - available.Get(name);
    if (used < FixedPoint()) used = FixedPoint();
    absl::StrAppend(&out, out.empty() ? "" : separator, name, " ", used.ToString(), "/", amount.ToString());
  }
  return out.empty() ? "-" : out;
}

std::string QuotedCommandLine(const std::vector<std::string>& argv) {
  return absl::StrJoin(argv, " ", [](std::string* out, const std::string& arg) {
    if (!arg.empty() && arg.find_first_of(" \t\n'\"\\$`;&|<>()*?[]{}~#!") == std::string::npos) {
      out->append(arg);
      return;
    }
    out->append("'" + absl::StrReplaceAll(arg, {{"'", "'\\''"}}) + "'");
  });
}

}  // namespace orrery::state
