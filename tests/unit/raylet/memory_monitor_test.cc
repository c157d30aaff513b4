// The memory monitor's readings: /proc/meminfo, a cgroup's use and limit, the test file; and
// the call it makes while the use is over its threshold.
#include "src/raylet/memory_monitor.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace orrery::raylet {
namespace {

namespace fs = std::filesystem;

constexpr char kMeminfo[] =
    "MemTotal:       24576000 kB\n"
    "MemFree:         1000000 kB\n"
    "MemAvailable:    6144000 kB\n"
    "Buffers:          100000 kB\n";

TEST(MemoryMonitorTest, MeminfoGivesTheTotalLessWhatIsAvailable) {
  absl::StatusOr<MemoryUsage> usage = ParseMeminfo(kMeminfo);
  ASSERT_OK(usage);
  EXPECT_EQ(usage->total_bytes, 24576000LL * 1024);
  EXPECT_EQ(usage->used_bytes, (24576000LL - 6144000LL) * 1024);
  EXPECT_DOUBLE_EQ(usage->fraction(), 0.75);
  EXPECT_FALSE(ParseMeminfo("MemTotal: 10 kB\n").ok()) << "no MemAvailable";
}

TEST(MemoryMonitorTest, ACgroupWithALimitGivesItsUseAndOneWithoutNone) {
  absl::StatusOr<MemoryUsage> usage = ParseCgroupMemory("750\n", "1000\n");
  ASSERT_OK(usage);
  EXPECT_DOUBLE_EQ(usage->fraction(), 0.75);
  EXPECT_TRUE(absl::IsNotFound(ParseCgroupMemory("750\n", "max\n").status()));
  EXPECT_FALSE(ParseCgroupMemory("lots", "1000").ok());
}

class MemoryFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("memory-monitor-test-" + std::to_string(getpid()));
    fs::create_directories(dir_ / "cgroup");
    std::ofstream(dir_ / "meminfo") << kMeminfo;
    source_.meminfo_path = (dir_ / "meminfo").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name, std::ios::trunc) << text; }

  fs::path dir_;
  MemorySource source_;
};

TEST_F(MemoryFiles, TheCgroupWinsWhenItHasALimitElseTheHost) {
  source_.cgroup_dir = (dir_ / "cgroup").string();
  Write("cgroup/memory.current", "900\n");
  Write("cgroup/memory.max", "1000\n");
  absl::StatusOr<MemoryUsage> usage = ReadMemoryUsage(source_);
  ASSERT_OK(usage);
  EXPECT_EQ(usage->total_bytes, 1000);
  Write("cgroup/memory.max", "max\n");
  usage = ReadMemoryUsage(source_);
  ASSERT_OK(usage);
  EXPECT_EQ(usage->total_bytes, 24576000LL * 1024);
}

TEST_F(MemoryFiles, TheTestFileSetsTheFractionOfTheHostInUse) {
  source_.testing_usage_file = (dir_ / "usage").string();
  Write("usage", "0.97\n");
  absl::StatusOr<MemoryUsage> usage = ReadMemoryUsage(source_);
  ASSERT_OK(usage);
  EXPECT_NEAR(usage->fraction(), 0.97, 1e-6);
  Write("usage", "much");
  EXPECT_FALSE(ReadMemoryUsage(source_).ok());
}

TEST_F(MemoryFiles, TheMonitorCallsWhileTheUseIsOverTheThresholdOnly) {
  source_.testing_usage_file = (dir_ / "usage").string();
  Write("usage", "0.5");
  boost::asio::io_context io;
  int calls = 0;
  MemoryMonitor monitor(io, {0.9, 1, source_}, [&](const MemoryUsage& usage) {
    EXPECT_GT(usage.fraction(), 0.9);
    ++calls;
  });
  monitor.Start();
  io.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(calls, 0);
  EXPECT_NEAR(monitor.last().fraction(), 0.5, 1e-6);
  Write("usage", "0.95");
  io.restart();
  io.run_for(std::chrono::milliseconds(20));
  EXPECT_GT(calls, 0);
  monitor.Stop();
  io.restart();
  io.run();  // nothing left once stopped
}

}  // namespace
}  // namespace orrery::raylet
