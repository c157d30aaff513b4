// What one run of the chaos suite does: how long, with which seed, and which kills. CI runs the
// defaults; the environment changes them for a longer run or to replay a failing seed.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>

// Set by tests/CMakeLists.txt: 2 in the Release build, 1 in the ASan+UBSan build.
#ifndef ORRERY_CHAOS_DEFAULT_MINUTES
#define ORRERY_CHAOS_DEFAULT_MINUTES 2
#endif

namespace orrery::chaos {

struct ChaosSettings {
  // How long the workload runs under faults (ORRERY_CHAOS_MINUTES; fractions allowed).
  double minutes = ORRERY_CHAOS_DEFAULT_MINUTES;
  // The killer's seed (ORRERY_CHAOS_SEED), printed so that a failing schedule can be replayed.
  uint64_t seed = 0;
  // ORRERY_CHAOS_KILL_RAYLETS=0 leaves the raylets alone: without lineage reconstruction, a
  // killed raylet loses the blocks only it held and the workload fails with ObjectLostError.
  bool kill_raylets = true;

  double seconds() const { return minutes * 60; }

  static ChaosSettings FromEnvironment() {
    ChaosSettings settings;
    if (const char* minutes = std::getenv("ORRERY_CHAOS_MINUTES")) settings.minutes = std::strtod(minutes, nullptr);
    const char* seed = std::getenv("ORRERY_CHAOS_SEED");
    settings.seed = seed != nullptr ? std::strtoull(seed, nullptr, 10) : std::random_device{}();
    const char* raylets = std::getenv("ORRERY_CHAOS_KILL_RAYLETS");
    settings.kill_raylets = raylets == nullptr || std::string(raylets) != "0";
    return settings;
  }
};

}  // namespace orrery::chaos
