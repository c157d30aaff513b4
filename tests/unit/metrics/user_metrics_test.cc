// A program's own metrics: what a process's recorder accepts and refuses, and how a raylet's
// table adds up the processes' reports (counts kept when a process ends, gauges not).
#include <chrono>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/metrics/exposition.h"
#include "src/metrics/registry.h"
#include "src/metrics/user_metrics.h"
#include "src/metrics/user_metrics_table.h"
#include "src/metrics/user_metrics_wire.h"

namespace orrery::metrics {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kOverdue{600};

TEST(UserMetricRecorder, CountsAddUpGaugesKeepTheLatestHistogramsFillTheirBuckets) {
  UserMetricRecorder recorder;
  int counter = *recorder.Declare("requests", "Requests", UserMetricKind::kCounter, {"route"}, {});
  int gauge = *recorder.Declare("queue", "Queue", UserMetricKind::kGauge, {}, {});
  int histogram = *recorder.Declare("latency", "Latency", UserMetricKind::kHistogram, {}, {0.1, 1});
  ASSERT_TRUE(recorder.Record(counter, 2, {{"route", "/a"}}).ok());
  ASSERT_TRUE(recorder.Record(counter, 3, {{"route", "/a"}}).ok());
  ASSERT_TRUE(recorder.Record(counter, 1, {}).ok());  // route ""
  ASSERT_TRUE(recorder.Record(gauge, 4, {}).ok());
  ASSERT_TRUE(recorder.Record(gauge, 9, {}).ok());
  for (double value : {0.05, 0.1, 0.5, 7.0}) ASSERT_TRUE(recorder.Record(histogram, value, {}).ok());

  std::vector<UserMetricSnapshot> snapshot = recorder.Snapshot();
  ASSERT_EQ(snapshot.size(), 3u);
  EXPECT_EQ(snapshot[0].schema.name, "requests_total");
  ASSERT_EQ(snapshot[0].points.size(), 2u);
  double a = 0, empty = 0;
  for (const UserMetricPoint& point : snapshot[0].points) (point.tag_values[0] == "/a" ? a : empty) = point.value;
  EXPECT_EQ(a, 5);
  EXPECT_EQ(empty, 1);
  EXPECT_EQ(snapshot[1].points[0].value, 9);
  EXPECT_THAT(snapshot[2].points[0].bucket_counts, ::testing::ElementsAre(2, 1, 1));  // <=0.1, <=1, +Inf
  EXPECT_DOUBLE_EQ(snapshot[2].points[0].sum, 7.65);
}

TEST(UserMetricRecorder, DeclaringTheSameMetricAgainIsTheSameMetric) {
  UserMetricRecorder recorder;
  int first = *recorder.Declare("ray.test", "x", UserMetricKind::kSum, {"k"}, {});
  int again = *recorder.Declare("ray.test", "other help", UserMetricKind::kSum, {"k"}, {});
  EXPECT_EQ(first, again);
  EXPECT_EQ(recorder.Snapshot().size(), 0u);  // nothing recorded yet: nothing to report
  EXPECT_EQ(ExportedMetricName("ray.test", UserMetricKind::kSum), "ray_test");
  EXPECT_EQ(ExportedMetricName("done_total", UserMetricKind::kCounter), "done_total");
}

TEST(UserMetricRecorder, BadDeclarationsAndRecordsAreRefusedNamingWhatIsWrong) {
  UserMetricRecorder recorder;
  auto refused = [](absl::StatusOr<int> declared) { return std::string(declared.status().message()); };
  EXPECT_THAT(refused(recorder.Declare("", "", UserMetricKind::kGauge, {}, {})), HasSubstr("needs a name"));
  EXPECT_THAT(refused(recorder.Declare("orrery_tasks", "", UserMetricKind::kGauge, {}, {})), HasSubstr("orrery_"));
  EXPECT_THAT(refused(recorder.Declare("m", "", UserMetricKind::kGauge, {"node_id"}, {})), HasSubstr("reserved"));
  EXPECT_THAT(refused(recorder.Declare("m", "", UserMetricKind::kGauge, {"a-b"}, {})), HasSubstr("'a-b'"));
  EXPECT_THAT(refused(recorder.Declare("m", "", UserMetricKind::kGauge, {"k", "k"}, {})), HasSubstr("twice"));
  EXPECT_THAT(refused(recorder.Declare("h", "", UserMetricKind::kHistogram, {}, {1, 1})), HasSubstr("ascending"));
  ASSERT_TRUE(recorder.Declare("m", "", UserMetricKind::kGauge, {"k"}, {}).ok());
  EXPECT_THAT(refused(recorder.Declare("m", "", UserMetricKind::kGauge, {"j"}, {})),
              HasSubstr("already a gauge with tag keys [k]"));
  int counter = *recorder.Declare("c", "", UserMetricKind::kCounter, {"k"}, {});
  EXPECT_THAT(recorder.Record(counter, -1, {}).message(), HasSubstr("cannot be negative"));
  EXPECT_THAT(recorder.Record(counter, 1, {{"x", "1"}}).message(), HasSubstr("no tag key 'x'"));
  EXPECT_TRUE(recorder.Snapshot().empty());  // nothing refused was recorded
}

TEST(UserMetricRecorder, LabelSetsPastTheCapAreCountedUnderOther) {
  UserMetricRecorder recorder;
  int counter = *recorder.Declare("c", "", UserMetricKind::kCounter, {"user"}, {});
  for (size_t i = 0; i < kMaxChildren + 10; ++i) ASSERT_TRUE(recorder.Record(counter, 1, {{"user", std::to_string(i)}}).ok());
  std::vector<UserMetricSnapshot> snapshot = recorder.Snapshot();
  EXPECT_EQ(snapshot[0].points.size(), kMaxChildren + 1);
  for (const UserMetricPoint& point : snapshot[0].points) {
    if (point.tag_values[0] == kOverflowLabel) {
      EXPECT_EQ(point.value, 10);
    }
  }
}

// One report of a process: its recorder's snapshot after these records, through the wire.
std::vector<UserMetricSnapshot> Report(double requests, double queue) {
  UserMetricRecorder recorder;
  int counter = *recorder.Declare("requests", "Requests", UserMetricKind::kCounter, {"route"}, {});
  int gauge = *recorder.Declare("queue", "Queue", UserMetricKind::kGauge, {}, {});
  int histogram = *recorder.Declare("latency", "Latency", UserMetricKind::kHistogram, {}, {1});
  (void)recorder.Record(counter, requests, {{"route", "/a"}});
  (void)recorder.Record(gauge, queue, {});
  (void)recorder.Record(histogram, requests, {});
  rpc::ReportMetricsRequest wire;
  ToWire(recorder.Snapshot(), wire.mutable_metrics());
  return FromWire(wire.metrics());
}

const Family* Find(const std::vector<Family>& families, const std::string& name) {
  for (const Family& family : families) {
    if (family.name == name) return &family;
  }
  return nullptr;
}

TEST(UserMetricsTable, ProcessesAddUpAndTheLatestGaugeWins) {
  UserMetricsTable table;
  Clock::time_point now = Clock::now();
  table.Update("w1", "01000000", Report(2, 5), kOverdue, now);
  table.Update("w2", "01000000", Report(3, 8), kOverdue, now);
  table.Update("w1", "01000000", Report(4, 6), kOverdue, now);  // w1 again: replaces, and is the latest
  std::vector<Family> families = table.Families("node1", now);
  const Family* requests = Find(families, "requests_total");
  ASSERT_NE(requests, nullptr);
  EXPECT_EQ(requests->type, MetricType::kCounter);
  ASSERT_EQ(requests->samples.size(), 1u);
  EXPECT_EQ(requests->samples[0].value, 7);
  EXPECT_THAT(requests->samples[0].labels,
              ::testing::ElementsAre(std::pair<std::string, std::string>("route", "/a"),
                                     std::pair<std::string, std::string>("job_id", "01000000"),
                                     std::pair<std::string, std::string>("node_id", "node1")));
  EXPECT_EQ(Find(families, "queue")->samples[0].value, 6);
  const Family* latency = Find(families, "latency");
  ASSERT_EQ(latency->histograms.size(), 1u);
  EXPECT_THAT(latency->histograms[0].counts, ::testing::ElementsAre(0, 2));  // 4 and 3: both above 1
  // What promtool reads: the exposition of it all.
  EXPECT_THAT(Exposition(families), HasSubstr("requests_total{route=\"/a\",job_id=\"01000000\",node_id=\"node1\"} 7"));
}

TEST(UserMetricsTable, AProcessThatStopsReportingKeepsItsCountsAndLosesItsGauges) {
  // Overdue, then folded into the totals: the counts stay throughout.
  UserMetricsTable table;
  Clock::time_point now = Clock::now();
  table.Update("w1", "01000000", Report(2, 5), kOverdue, now);
  table.Update("w2", "01000000", Report(3, 8), kOverdue, now);
  Clock::time_point later = now + kOverdue / 2;
  table.Update("w2", "01000000", Report(3, 8), kOverdue, later);  // w2 lives on; w1 went silent
  std::vector<Family> families = table.Families("n", now + kOverdue + std::chrono::milliseconds(1));
  EXPECT_EQ(Find(families, "requests_total")->samples[0].value, 5);
  ASSERT_NE(Find(families, "queue"), nullptr);
  ASSERT_EQ(Find(families, "queue")->samples.size(), 1u);
  EXPECT_EQ(Find(families, "queue")->samples[0].value, 8);
  // Both gone: the counts stay, no gauge is left.
  families = table.Families("n", later + kOverdue + std::chrono::milliseconds(1));
  EXPECT_EQ(Find(families, "requests_total")->samples[0].value, 5);
  const Family* queue = Find(families, "queue");
  EXPECT_TRUE(queue == nullptr || queue->samples.empty());
  // Folded into the node's totals and forgotten: still counted.
  families = table.Families("n", later + UserMetricsTable::kForgetAfterOverdue * kOverdue + std::chrono::milliseconds(1));
  EXPECT_EQ(Find(families, "requests_total")->samples[0].value, 5);
}

TEST(UserMetricsTable, AProcessLateToReportIsNotCountedTwice) {
  UserMetricsTable table;
  Clock::time_point now = Clock::now();
  table.Update("w1", "01000000", Report(2, 5), kOverdue, now);
  // Overdue (slow, not gone): its gauge is left out, its counts stay.
  Clock::time_point late = now + kOverdue + std::chrono::milliseconds(1);
  std::vector<Family> families = table.Families("n", late);
  EXPECT_EQ(Find(families, "requests_total")->samples[0].value, 2);
  const Family* queue = Find(families, "queue");
  EXPECT_TRUE(queue == nullptr || queue->samples.empty());
  // It reports again, with more: its count is its latest, once.
  table.Update("w1", "01000000", Report(3, 5), kOverdue, late);
  families = table.Families("n", late);
  EXPECT_EQ(Find(families, "requests_total")->samples[0].value, 3);
  EXPECT_EQ(Find(families, "queue")->samples[0].value, 5);
  // Silent long enough to be folded into the totals and forgotten: a report after that is
  // ignored, as it would count twice.
  Clock::time_point gone = late + UserMetricsTable::kForgetAfterOverdue * kOverdue + std::chrono::milliseconds(1);
  EXPECT_EQ(Find(table.Families("n", gone), "requests_total")->samples[0].value, 3);
  table.Update("w1", "01000000", Report(4, 5), kOverdue, gone);
  EXPECT_EQ(Find(table.Families("n", gone), "requests_total")->samples[0].value, 3);
}

TEST(UserMetricsTable, AReportDeclaringANameOtherwiseIsNotServed) {
  UserMetricsTable table;
  Clock::time_point now = Clock::now();
  table.Update("w1", "01000000", Report(2, 5), kOverdue, now);
  UserMetricRecorder other;
  int queue = *other.Declare("queue", "", UserMetricKind::kCounter, {}, {});  // "queue_total": another name
  int requests = *other.Declare("requests", "", UserMetricKind::kCounter, {"path"}, {});
  (void)other.Record(queue, 1, {});
  (void)other.Record(requests, 9, {{"path", "/b"}});
  table.Update("w2", "01000000", other.Snapshot(), kOverdue, now);
  std::vector<Family> families = table.Families("n", now);
  EXPECT_EQ(Find(families, "requests_total")->samples.size(), 1u);  // w2's, with another tag key, refused
  EXPECT_EQ(Find(families, "requests_total")->samples[0].value, 2);
  EXPECT_NE(Find(families, "queue_total"), nullptr);
  EXPECT_EQ(table.refused(), 1);
}

TEST(UserMetricsTable, ANameThatWouldBreakTheExpositionIsRefused) {
  UserMetricsTable table;
  UserMetricSnapshot bad;
  bad.schema = {"evil\nfake_metric 1", "", UserMetricKind::kGauge, {}, {}};
  bad.points.push_back({{}, 1, {}, 0});
  table.Update("w1", "01000000", {bad}, kOverdue);
  EXPECT_TRUE(table.Families("n").empty());
  EXPECT_EQ(table.refused(), 1);
}

}  // namespace
}  // namespace orrery::metrics
