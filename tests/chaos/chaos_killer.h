// ChaosKiller: carries out the events of a chaos schedule (chaos_schedule.h) on a ChaosCluster
// with SIGKILL, logging each with its time, and counts what it did. It spares the head's raylet,
// the raylets drivers are attached to, and the processes it is told to spare (the checker
// actors). Used by the test's thread only; a GCS or raylet that does not come back is a test
// failure, reported where it happens.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <string>

#include "nlohmann/json.hpp"
#include "tests/chaos/chaos_cluster.h"
#include "tests/chaos/chaos_schedule.h"

namespace orrery::chaos {

class ChaosKiller {
 public:
  // `state_dir`: where the drivers say which nodes they are on (chaos_workload.h).
  ChaosKiller(ChaosCluster& cluster, std::set<pid_t> spared, std::string state_dir,
              std::chrono::steady_clock::time_point start)
      : cluster_(cluster), spared_(std::move(spared)), state_dir_(std::move(state_dir)), start_(start) {}

  void Execute(const KillEvent& event);

  // {"worker": n, "raylet": n, "gcs": n, "raylets_started": n, "skipped": n}: the kills made
  // of each kind, the raylets started to replace killed ones, and events that found no victim.
  const nlohmann::json& counts() const { return counts_; }

 private:
  void KillWorker(uint64_t pick);
  void KillRaylet(uint64_t pick);
  // How many objects the owners (drivers and workers) say `node`'s store holds.
  int ObjectsIn(const std::string& node) const;
  void KillGcs();
  void Count(const std::string& what) { counts_[what] = counts_.value(what, 0) + 1; }
  // Prints "[chaos +12.345s 14:03:07.123] LINE": the time into the run, and the wall clock to
  // find the same moment in the daemons' logs.
  void Log(const std::string& line) const;

  ChaosCluster& cluster_;
  std::set<pid_t> spared_;
  std::string state_dir_;
  std::chrono::steady_clock::time_point start_;
  nlohmann::json counts_ = {{"worker", 0}, {"raylet", 0}, {"gcs", 0}, {"raylets_started", 0}, {"skipped", 0}};
};

}  // namespace orrery::chaos
