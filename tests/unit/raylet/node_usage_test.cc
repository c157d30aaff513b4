// What a raylet reads of its host for /metrics: CPU time from /proc/stat's text, GPU use from
// nvidia-smi's CSV, and the sampler that keeps nvidia-smi out of a scrape.
#include "src/raylet/node_usage.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace orrery::raylet {
namespace {

using ::testing::IsEmpty;
using ::testing::SizeIs;

TEST(NodeUsageTest, ProcStatsCpuLineIsBusyAndIdleSeconds) {
  // user nice system idle iowait irq softirq steal guest guest_nice, in ticks of 1/100 s.
  const std::string text =
      "cpu  1000 50 300 9000 200 10 20 5 0 0\n"
      "cpu0 500 25 150 4500 100 5 10 2 0 0\n"
      "intr 12345\n";
  auto cpu = ParseProcStat(text, 100);
  ASSERT_TRUE(cpu.ok()) << cpu.status();
  EXPECT_DOUBLE_EQ(cpu->busy, (1000 + 50 + 300 + 10 + 20 + 5) / 100.0);
  EXPECT_DOUBLE_EQ(cpu->idle, (9000 + 200) / 100.0);
}

TEST(NodeUsageTest, AProcStatWithoutACpuLineIsAnErrorNamingIt) {
  auto cpu = ParseProcStat("cpu0 1 2 3 4 5 6 7 8\n", 100);
  ASSERT_FALSE(cpu.ok());
  EXPECT_THAT(std::string(cpu.status().message()), ::testing::HasSubstr("'cpu' line"));
  EXPECT_FALSE(ParseProcStat("cpu  1 2 x 4 5 6 7 8\n", 100).ok());
}

TEST(NodeUsageTest, ThisHostsCpuTimeRises) {
  auto before = ReadCpuSeconds();
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_GT(before->busy + before->idle, 0);
}

TEST(NodeUsageTest, NvidiaSmisCsvIsEachGpusUseInRatiosAndBytes) {
  auto gpus = ParseGpuUsage("0, 37, 1024, 81559\n1, 100, 0, 81559\n2, [N/A], 10, 20\n\n");
  ASSERT_THAT(gpus, SizeIs(2));  // the GPU without a reading is left out
  EXPECT_EQ(gpus[0].index, "0");
  EXPECT_DOUBLE_EQ(gpus[0].utilization_ratio, 0.37);
  EXPECT_DOUBLE_EQ(gpus[0].memory_used_bytes, 1024.0 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(gpus[0].memory_total_bytes, 81559.0 * 1024 * 1024);
  EXPECT_EQ(gpus[1].index, "1");
  EXPECT_DOUBLE_EQ(gpus[1].utilization_ratio, 1.0);
  EXPECT_THAT(ParseGpuUsage(""), IsEmpty());
  EXPECT_THAT(ParseGpuUsage("NVIDIA-SMI has failed because it couldn't communicate with the driver"), IsEmpty());
}

TEST(NodeUsageTest, TheSamplerKeepsTheLatestReading) {
  std::atomic<int> runs{0};
  GpuUsageSampler sampler(
      [&](const std::string& command) {
        EXPECT_EQ(command, kGpuUsageCommand);
        return ++runs == 1 ? std::string("0, 10, 1, 2\n") : std::string("0, 90, 1, 2\n1, 5, 1, 2\n");
      },
      std::chrono::milliseconds(5));
  // A later reading replaces the first: poll for it (bounded), the sampler runs on its own time.
  std::vector<GpuUsage> latest;
  for (int i = 0; i < 2000 && (latest = sampler.Latest()).size() != 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_THAT(latest, SizeIs(2));
  EXPECT_DOUBLE_EQ(latest[0].utilization_ratio, 0.9);
}

TEST(NodeUsageTest, ASamplerBetweenReadingsStopsAtOnce) {
  absl::Notification first_run;
  auto sampler = std::make_unique<GpuUsageSampler>(
      [&](const std::string&) {
        if (!first_run.HasBeenNotified()) first_run.Notify();
        return std::string("0, 10, 1, 2\n");
      },
      std::chrono::hours(1));
  ASSERT_TRUE(first_run.WaitForNotificationWithTimeout(absl::Seconds(10)));
  // Waiting out the hour would time the test out: the destructor wakes the sampler.
  const auto start = std::chrono::steady_clock::now();
  sampler.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace orrery::raylet
