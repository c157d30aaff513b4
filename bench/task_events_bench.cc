#include "task_events_bench.h"

#include <cstdio>
#include <string>
#include <vector>

#include "actor_bench.h"
#include "comparison.h"
#include "orrery/api.h"

namespace orrery::bench {

namespace {

constexpr int kRounds = 5;

struct Figures {
  std::vector<double> tasks_sync;
  std::vector<double> tasks_async;
};

void MeasureOnCluster(bool events, Figures& figures) {
  orrery::Config config;
  config.head_args = {"--num-cpus", "2"};
  config.task_events = events;
  orrery::Init(config);
  figures.tasks_sync.push_back(SyncTaskRate());
  figures.tasks_async.push_back(AsyncTaskRate());
  std::fprintf(stderr, "task events %s: sync %.0f/s, async %.0f/s\n", events ? "on" : "off", figures.tasks_sync.back(),
               figures.tasks_async.back());
  orrery::Shutdown();
}

}  // namespace

void MeasureTaskEventsCost(const Reporter& report) {
  Figures off, on;
  MeasureAlternately(kRounds, [&](bool events) { MeasureOnCluster(events, events ? on : off); });
  ReportComparison(report, "single_client_tasks_sync", "task_events_on_over_off_tasks_sync", "events_off",
                   off.tasks_sync, "events_on", on.tasks_sync, "ops/s");
  ReportComparison(report, "single_client_tasks_async", "task_events_on_over_off_tasks_async", "events_off",
                   off.tasks_async, "events_on", on.tasks_async, "ops/s");
}

}  // namespace orrery::bench
