#include "tls_bench.h"

#include <algorithm>
#include <string>
#include <vector>

#include "actor_bench.h"
#include "orrery/api.h"

namespace orrery::bench {

namespace {

constexpr int kRounds = 3;

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

struct SyncFigures {
  std::vector<double> tasks;
  std::vector<double> actor_calls;
};

// Both figures on a new local cluster with TLS on or off.
void MeasureOnCluster(bool tls, SyncFigures& figures) {
  orrery::Config config;
  config.head_args = {"--num-cpus", "2", tls ? "--tls=on" : "--tls=off"};
  orrery::Init(config);
  figures.tasks.push_back(SyncTaskRate());
  figures.actor_calls.push_back(SyncActorCallRate());
  orrery::Shutdown();
}

}  // namespace

void MeasureTlsCost(const Reporter& report) {
  SyncFigures plain, tls;
  // Alternating, so that a slow spell of the machine falls on both.
  for (int round = 0; round < kRounds; ++round) {
    MeasureOnCluster(false, plain);
    MeasureOnCluster(true, tls);
  }
  double tasks_plain = Median(plain.tasks), tasks_tls = Median(tls.tasks);
  double calls_plain = Median(plain.actor_calls), calls_tls = Median(tls.actor_calls);
  report("single_client_tasks_sync_plain", tasks_plain, "ops/s");
  report("single_client_tasks_sync_tls", tasks_tls, "ops/s");
  report("tls_over_plain_tasks_sync", tasks_tls / tasks_plain, "ratio");
  report("1_1_actor_calls_sync_plain", calls_plain, "calls/s");
  report("1_1_actor_calls_sync_tls", calls_tls, "calls/s");
  report("tls_over_plain_actor_calls_sync", calls_tls / calls_plain, "ratio");
}

}  // namespace orrery::bench
