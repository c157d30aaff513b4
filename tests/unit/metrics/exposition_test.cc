// The text exposition format, exactly, and as Debian's `promtool check metrics` (Prometheus's
// own linter) reads it.
#include "src/metrics/exposition.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/metrics/registry.h"

namespace orrery::metrics {
namespace {

TEST(ExpositionTest, WritesHelpTypeAndSamplesEscapingHelpAndLabelValues) {
  Family counter{"orrery_gcs_jobs_finished_total", "Jobs finished\nby state \\ kind", MetricType::kCounter, {}, {}};
  counter.samples.push_back({{{"state", "SUCC\"EEDED"}, {"node", "a\\b\nc"}}, 3});
  Family gauge{"orrery_raylet_workers", "Workers", MetricType::kGauge, {}, {}};
  gauge.samples.push_back({{}, 0.5});
  EXPECT_EQ(Exposition({counter, gauge}),
            "# HELP orrery_gcs_jobs_finished_total Jobs finished\\nby state \\\\ kind\n"
            "# TYPE orrery_gcs_jobs_finished_total counter\n"
            "orrery_gcs_jobs_finished_total{state=\"SUCC\\\"EEDED\",node=\"a\\\\b\\nc\"} 3\n"
            "# HELP orrery_raylet_workers Workers\n"
            "# TYPE orrery_raylet_workers gauge\n"
            "orrery_raylet_workers 0.5\n");
}

TEST(ExpositionTest, HistogramBucketsAreCumulativeEndingInInfWithSumAndCount) {
  Family latency{"orrery_task_run_seconds", "Run time", MetricType::kHistogram, {}, {}};
  latency.histograms.push_back({{{"function", "Add"}}, {0.1, 1}, {2, 0, 1}, 7.25});
  EXPECT_EQ(Exposition({latency}),
            "# HELP orrery_task_run_seconds Run time\n"
            "# TYPE orrery_task_run_seconds histogram\n"
            "orrery_task_run_seconds_bucket{function=\"Add\",le=\"0.10000000000000001\"} 2\n"
            "orrery_task_run_seconds_bucket{function=\"Add\",le=\"1\"} 2\n"
            "orrery_task_run_seconds_bucket{function=\"Add\",le=\"+Inf\"} 3\n"
            "orrery_task_run_seconds_sum{function=\"Add\"} 7.25\n"
            "orrery_task_run_seconds_count{function=\"Add\"} 3\n");
}

// What `promtool check metrics` says of `text` (nothing when it has no complaint), and its
// exit status.
std::pair<std::string, int> PromtoolCheck(const std::string& text) {
  char path[] = "/tmp/orrery-metrics-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  FILE* pipe = popen(("promtool check metrics < " + std::string(path) + " 2>&1").c_str(), "r");
  std::string output;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe)) > 0;) output.append(buffer, n);
  int status = pclose(pipe);
  unlink(path);
  return {output, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

// Every kind of family a registry keeps, with labels, an overflowed label set and a collected
// family, passes Prometheus's linter (names, units, _total on counters, HELP, escaping).
TEST(ExpositionTest, ARegistrysExpositionPassesPromtool) {
  Registry registry;
  auto& tasks = registry.AddCounter("orrery_tasks_finished_total", "Tasks finished, by function and state",
                                    {"function", "state"});
  tasks.With({"Add", "FINISHED"}).Inc(5);
  tasks.With({"Say \"hi\"\n", "FAILED"}).Inc();
  auto& bytes = registry.AddGauge("orrery_object_store_used_bytes", "Bytes of the object store in use", {"node"});
  bytes.With({"n1"}).Set(1 << 20);
  auto& latency = registry.AddHistogram("orrery_task_run_seconds", "Time tasks ran", {"function"}, LatencyBounds());
  latency.With({"Add"}).Observe(0.003);
  latency.With({"Add"}).Observe(12);
  registry.AddCollector([](std::vector<Family>& out) {
    Family actors{"orrery_actors", "Actors, by state", MetricType::kGauge, {}, {}};
    actors.samples.push_back({{{"state", "ALIVE"}}, 2});
    out.push_back(actors);
  });
  auto [output, status] = PromtoolCheck(registry.Render());
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "");
}

// The check is real: promtool refuses what breaks Prometheus's conventions.
TEST(ExpositionTest, PromtoolRefusesACounterWithoutTotal) {
  Family counter{"orrery_tasks_finished", "Tasks finished", MetricType::kCounter, {}, {}};
  counter.samples.push_back({{}, 1});
  auto [output, status] = PromtoolCheck(Exposition({counter}));
  EXPECT_THAT(output, ::testing::HasSubstr("_total"));
}

}  // namespace
}  // namespace orrery::metrics
