// The chaos suite's workload, shaped like Ray's chaos release tests, and the remote code it
// runs. The test binary is also the workload's drivers and their workers:
//   (a) waves of nested tasks: each block of a wave is a task (max_retries=-1) that submits a
//       child task reading two 1 MiB blocks of the previous wave and making a 1 MiB block of its
//       own, so a block lost with its node must be made again from its lineage;
//   (b) 20 reporter actors (max_restarts=-1, max_task_retries=-1) sending sequence numbers to 2
//       checker actors, which must receive every number at least once;
//   (c) a job submitted with `orrery job submit`: nested tasks with max_retries=-1.
#pragma once

#include <map>
#include <string>

namespace orrery::chaos {

constexpr int kBlocksPerWave = 8;
constexpr int kWavesPerRound = 4;
constexpr int kReporters = 20;
constexpr int kCheckers = 2;
constexpr int kCallsPerReporterPerWave = 2;

struct DriverOptions {
  // The workload runs whole rounds until `rounds` are done (> 0), or else until `seconds` pass.
  int rounds = 0;
  double seconds = 0;
  // The checkers live on the head's node, whose raylet the killer spares.
  std::string head_node;
  // Where the driver writes the pids of the checkers (the killer spares them too: they are the
  // test's record of what arrived) and where block tasks mark their completion.
  std::string state_dir;
  // The cluster's temp root (where the CLI finds it): the driver lists the nodes there.
  std::string root;
};

// Parts (a) and (b), interleaved in steps of one wave and one batch of calls; checks every
// result. Prints its figures as one JSON line ("chaos driver figures: {...}"); 0 when every
// result was right, 1 (saying what was wrong) otherwise.
int RunChaosDriver(const DriverOptions& options);

// Part (c), a submitted job's driver: rounds of nested tasks for `seconds`; prints
// "chaos job figures: {...}"; 0 when every result was right. Says its node like the driver.
int RunChaosJob(double seconds, const std::string& state_dir);

// The file RunChaosDriver writes the spared pids to, one a line, once the checkers are up.
std::string SparedPidsFile(const std::string& state_dir);

// The drivers (the workload's and the submitted job's) each write the id of the node they
// attached to, as soon as they have one, under `state_dir`: a driver does not outlive its
// node's raylet, so the killer spares those nodes. Files, not `orrery list jobs`: a listing
// that fails under load must not make a driver's node a victim.
constexpr int kDrivers = 2;
void WriteDriverNode(const std::string& state_dir, const std::string& driver);
// Each driver that said where it is ("driver", "job") and its node.
std::map<std::string, std::string> DriverNodes(const std::string& state_dir);

}  // namespace orrery::chaos
