#include "tests/chaos/chaos_killer.h"

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "tests/chaos/chaos_workload.h"
#include "tests/chaos/leftovers.h"
#include "tests/integration/cli_cluster.h"

namespace orrery::chaos {

void ChaosKiller::Execute(const KillEvent& event) {
  switch (event.kind) {
    case KillKind::kWorker:
      return KillWorker(event.pick);
    case KillKind::kRaylet:
      return KillRaylet(event.pick);
    case KillKind::kGcs:
      return KillGcs();
  }
}

void ChaosKiller::KillWorker(uint64_t pick) {
  std::vector<nlohmann::json> candidates;
  for (const auto& row : cluster_.ListRows("workers")) {
    if (NumberOf(row, "pid") > 0 && spared_.count(NumberOf(row, "pid")) == 0) candidates.push_back(row);
  }
  if (candidates.empty()) {
    Log("no worker to kill: the cluster listed none (or did not answer)");
    return Count("skipped");
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const auto& a, const auto& b) { return NumberOf(a, "pid") < NumberOf(b, "pid"); });
  const nlohmann::json& victim = candidates[pick % candidates.size()];
  pid_t pid = NumberOf(victim, "pid");
  // The listing is a moment old: the pid must still be a process of this cluster.
  bool ours = ReadBytes("/proc/" + std::to_string(pid) + "/environ").find(cluster_.root()) != std::string::npos;
  if (!ours || kill(pid, SIGKILL) != 0) {
    Log("worker pid " + std::to_string(pid) + " was gone before its SIGKILL");
    return Count("skipped");
  }
  bool actor = victim.contains("is_actor_worker") && victim.at("is_actor_worker") == true;
  Log("SIGKILL worker pid " + std::to_string(pid) + " (" + (actor ? "actor" : "task") + " worker, " +
      TextOf(victim, "state") + ", job " + TextOf(victim, "job_id") + ") on node " + TextOf(victim, "node_id"));
  Count("worker");
}

int ChaosKiller::ObjectsIn(const std::string& node) const {
  int held = 0;
  for (const auto& object : cluster_.ListRows("objects")) {
    held += TextOf(object, "store_node_id") == node && object.value("owned", false) ? 1 : 0;
  }
  return held;
}

void ChaosKiller::KillRaylet(uint64_t pick) {
  // A driver's raylet is its node's lifeline (a driver does not outlive it), and the head's
  // raylet hosts the checkers: neither is a victim. Until both drivers have said where they
  // are, any node may be one's.
  std::map<std::string, std::string> drivers = DriverNodes(state_dir_);
  if (static_cast<int>(drivers.size()) < kDrivers) {
    Log("no raylet to kill: a driver has not yet said which node it is on");
    return Count("skipped");
  }
  std::set<std::string> spared_nodes = {cluster_.head_node()};
  for (const auto& [driver, node] : drivers) spared_nodes.insert(node);
  std::vector<std::string> candidates;
  for (const auto& node : cluster_.ListRows("nodes --filter state=ALIVE")) {
    if (spared_nodes.count(TextOf(node, "node_id")) == 0) candidates.push_back(TextOf(node, "node_id"));
  }
  std::sort(candidates.begin(), candidates.end());
  if (candidates.empty()) {
    Log("no raylet to kill: every alive node is the head's or a driver's");
    return Count("skipped");
  }
  std::string node = candidates[pick % candidates.size()];
  int held = ObjectsIn(node);
  pid_t pid = orrery::testing::RayletPid(cluster_.root(), node);
  if (pid <= 0 || kill(pid, SIGKILL) != 0) {
    Log("the raylet of node " + node + " was gone before its SIGKILL");
    return Count("skipped");
  }
  Log("SIGKILL raylet pid " + std::to_string(pid) + " of node " + node + " (its store held " +
      std::to_string(held) + " objects their owners know of)");
  Count("raylet");
  std::string replacement;
  ::testing::AssertionResult joined = cluster_.JoinRaylet(&replacement);
  EXPECT_TRUE(joined) << "replacing the raylet of node " << node;
  if (!joined) return;
  Log("started the raylet of node " + replacement + " in its place");
  Count("raylets_started");
}

void ChaosKiller::KillGcs() {
  pid_t gcs = orrery::testing::DaemonPid(cluster_.root(), "gcs");
  if (gcs <= 0 || kill(gcs, SIGKILL) != 0) {
    ADD_FAILURE() << "no GCS to kill (pid " << gcs << ")";
    return Count("skipped");
  }
  auto killed_at = std::chrono::steady_clock::now();
  Log("SIGKILL GCS pid " + std::to_string(gcs));
  Count("gcs");
  pid_t back = 0;
  // orrery-head starts it again after a 100 ms back-off; the new one records its pid.
  EXPECT_TRUE(orrery::testing::Eventually(
      [&] {
        back = orrery::testing::DaemonPid(cluster_.root(), "gcs");
        return back > 0 && back != gcs && ProcessAlive(back);
      },
      60))
      << "the GCS did not come back within 60 s of its SIGKILL";
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  char line[96];
  std::snprintf(line, sizeof(line), "the GCS is back as pid %d after %.2f s", back, took);
  Log(line);
}

void ChaosKiller::Log(const std::string& line) const {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  int millis =
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm local{};
  localtime_r(&seconds, &local);
  char wall[16];
  std::strftime(wall, sizeof(wall), "%H:%M:%S", &local);
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::printf("[chaos +%.3fs %s.%03d] %s\n", elapsed, wall, millis, line.c_str());
  std::fflush(stdout);
}

}  // namespace orrery::chaos
