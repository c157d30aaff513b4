// The registry: children per label set, bounded label values, histograms, collectors, and
// updates from many threads at once.
#include "src/metrics/registry.h"

#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace orrery::metrics {
namespace {

const Sample* Find(const Family& family, const Labels& labels) {
  for (const Sample& sample : family.samples) {
    if (sample.labels == labels) return &sample;
  }
  return nullptr;
}

TEST(RegistryTest, EachLabelSetIsAChildOfItsOwn) {
  Registry registry;
  auto& starts = registry.AddCounter("orrery_raylet_worker_starts_total", "Workers started", {"kind"});
  starts.With({"pooled"}).Inc();
  starts.With({"pooled"}).Inc(2);
  starts.With({"actor"}).Inc();
  std::vector<Family> families = registry.Collect();
  ASSERT_EQ(families.size(), 1u);
  EXPECT_EQ(families[0].type, MetricType::kCounter);
  ASSERT_EQ(families[0].samples.size(), 2u);
  EXPECT_EQ(Find(families[0], {{"kind", "pooled"}})->value, 3);
  EXPECT_EQ(Find(families[0], {{"kind", "actor"}})->value, 1);
}

TEST(RegistryTest, LabelSetsPastTheCapAreCountedUnderOther) {
  Registry registry;
  auto& tasks = registry.AddCounter("orrery_tasks_finished_total", "Tasks", {"function", "state"});
  for (size_t i = 0; i < kMaxChildren + 10; ++i) tasks.With({absl::StrCat("f", i), "FINISHED"}).Inc();
  tasks.With({"f0", "FINISHED"}).Inc();  // an existing set keeps counting under its own labels
  Family family = registry.Collect()[0];
  EXPECT_EQ(family.samples.size(), kMaxChildren + 1);
  EXPECT_EQ(Find(family, {{"function", "other"}, {"state", "other"}})->value, 10);
  EXPECT_EQ(Find(family, {{"function", "f0"}, {"state", "FINISHED"}})->value, 2);
}

TEST(RegistryTest, HistogramsCountEachObservationInTheFirstBucketHoldingIt) {
  Registry registry;
  auto& latency = registry.AddHistogram("orrery_lease_grant_seconds", "Grant latency", {}, {1, 0.1});  // sorted
  latency.With({}).Observe(0.05);
  latency.With({}).Observe(0.1);  // on a bound: in that bucket (le is "less or equal")
  latency.With({}).Observe(0.5);
  latency.With({}).Observe(7);
  HistogramSample sample = registry.Collect()[0].histograms.at(0);
  EXPECT_THAT(sample.bounds, ::testing::ElementsAre(0.1, 1));
  EXPECT_THAT(sample.counts, ::testing::ElementsAre(2, 1, 1));
  EXPECT_DOUBLE_EQ(sample.sum, 7.65);
}

TEST(RegistryTest, CollectorsAddFamiliesAfterTheKeptOnesAtEachScrape) {
  Registry registry;
  registry.AddGauge("orrery_kept", "Kept", {}).With({}).Set(1);
  int scrapes = 0;
  registry.AddCollector([&](std::vector<Family>& out) {
    ++scrapes;
    out.push_back(Family{"orrery_collected", "Collected", MetricType::kGauge, {{{}, double(scrapes)}}, {}});
  });
  registry.Collect();
  std::vector<Family> second = registry.Collect();
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0].name, "orrery_kept");
  EXPECT_EQ(second[1].name, "orrery_collected");
  EXPECT_EQ(second[1].samples[0].value, 2);
}

TEST(RegistryTest, UpdatesFromManyThreadsAreAllCounted) {
  Registry registry;
  auto& calls = registry.AddCounter("orrery_rpc_calls_total", "Calls", {"method"});
  auto& latency = registry.AddHistogram("orrery_rpc_seconds", "Latency", {"method"}, LatencyBounds());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        calls.With({t % 2 == 0 ? "Get" : "Put"}).Inc();
        latency.With({"Get"}).Observe(0.001);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::vector<Family> families = registry.Collect();
  EXPECT_EQ(Find(families[0], {{"method", "Get"}})->value, 20000);
  EXPECT_EQ(Find(families[0], {{"method", "Put"}})->value, 20000);
  uint64_t observed = 0;
  for (uint64_t count : families[1].histograms.at(0).counts) observed += count;
  EXPECT_EQ(observed, 40000u);
}

}  // namespace
}  // namespace orrery::metrics
