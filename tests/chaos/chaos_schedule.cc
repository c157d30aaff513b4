#include "tests/chaos/chaos_schedule.h"

#include <algorithm>
#include <random>

namespace orrery::chaos {

std::vector<KillEvent> MakeSchedule(uint64_t seed, double duration_s, bool kill_raylets) {
  // mt19937_64's sequence is fixed by the standard (distributions are not), so the draws are
  // turned into numbers by hand: a seed replays the same schedule with any standard library.
  std::mt19937_64 random(seed);
  auto unit = [&random] { return static_cast<double>(random() >> 11) * 0x1.0p-53; };
  std::vector<KillEvent> events;
  events.push_back({duration_s * (0.25 + 0.5 * unit()), KillKind::kGcs, 0});
  for (double at = kWorkerKillPeriodS; at < duration_s; at += kWorkerKillPeriodS) {
    events.push_back({at, KillKind::kWorker, 0});
  }
  if (kill_raylets) {
    for (double at = kRayletKillPeriodS; at < duration_s; at += kRayletKillPeriodS) {
      events.push_back({at, KillKind::kRaylet, 0});
    }
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const KillEvent& a, const KillEvent& b) { return a.at_s < b.at_s; });
  for (KillEvent& event : events) event.pick = random();
  return events;
}

std::string KindName(KillKind kind) {
  switch (kind) {
    case KillKind::kWorker:
      return "worker";
    case KillKind::kRaylet:
      return "raylet";
    case KillKind::kGcs:
      return "gcs";
  }
  return "?";
}

}  // namespace orrery::chaos
