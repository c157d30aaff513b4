// The killer's schedule: every kill of a chaos run, when it happens and the random draw that
// picks its victim, all made from one seed before the run starts. The same seed gives the same
// schedule; which process a draw picks depends on the cluster at that moment.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace orrery::chaos {

enum class KillKind {
  kWorker,  // SIGKILL a worker process (any job's, task or actor)
  kRaylet,  // SIGKILL a raylet that is not the head's, then start a new one
  kGcs,     // SIGKILL the GCS; orrery-head starts it again on its RocksDB storage
};

struct KillEvent {
  double at_s = 0;  // seconds after the workload started
  KillKind kind = KillKind::kWorker;
  uint64_t pick = 0;  // chooses the victim among the candidates, sorted
};

constexpr double kWorkerKillPeriodS = 2;
constexpr double kRayletKillPeriodS = 30;

// Worker kills every 2 s, raylet kills every 30 s (unless `kill_raylets` is false), and one GCS
// kill at a random time in the middle half of the run; in time order.
std::vector<KillEvent> MakeSchedule(uint64_t seed, double duration_s, bool kill_raylets);

// "worker", "raylet" or "gcs".
std::string KindName(KillKind kind);

}  // namespace orrery::chaos
