// Progress where work is long (include/orrery/progress.h): Wait's progress callback and
// orrery::Progress's lines on a stderr that is not a terminal, on a cluster Init() starts and in
// local mode (test_mode.h).
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "local_cluster_suite.h"
#include "orrery/api.h"
#include "orrery/progress.h"
#include "test_mode.h"

int SleepThenReturn(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
ORRERY_REMOTE(SleepThenReturn);

// Runs until the test creates `path`: a task that ends when the test says so, whatever the
// machine's speed. Gives up after a minute so that a failed test cannot hang its suite.
int RunUntilFileExists(std::string path) {
  auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (access(path.c_str(), F_OK) != 0) {
    if (std::chrono::steady_clock::now() > give_up) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return 1;
}
ORRERY_REMOTE(RunUntilFileExists);

namespace {

using orrery::testing::LocalMode;

class ProgressTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = orrery::testing::MakeTempRoot();
    orrery::Config config;
    config.temp_dir = root_;
    config.head_args = {"--num-cpus", "2"};
    config.local_mode = LocalMode();
    orrery::Init(config);
  }
  static void TearDownTestSuite() { orrery::testing::ShutdownLocalCluster(root_); }
  static std::string root_;
};
std::string ProgressTest::root_;

std::vector<orrery::ObjectRef<int>> Sleepers(int count, int ms) {
  std::vector<orrery::ObjectRef<int>> refs;
  for (int i = 0; i < count; ++i) refs.push_back(orrery::Task(SleepThenReturn).Remote(ms));
  return refs;
}

TEST_F(ProgressTest, WaitCallsBackAsMoreAreReadyUntilAllAre) {
  auto refs = Sleepers(12, 20);
  std::vector<orrery::ProgressUpdate> updates;
  auto result = orrery::Wait(refs, 12, -1, [&](const orrery::ProgressUpdate& update) { updates.push_back(update); });
  EXPECT_EQ(result.ready.size(), 12u);
  ASSERT_GE(updates.size(), 2u);
  EXPECT_EQ(updates.front().done, 0u);  // once at the start
  for (size_t i = 1; i < updates.size(); ++i) {
    EXPECT_GT(updates[i].done, updates[i - 1].done);
    EXPECT_GE(updates[i].seconds, updates[i - 1].seconds);
  }
  EXPECT_EQ(updates.back().done, 12u);
  EXPECT_EQ(updates.back().total, 12u);
  EXPECT_GT(updates.back().rate_per_s, 0);
  EXPECT_EQ(updates.back().eta_seconds, 0);
}

TEST_F(ProgressTest, WaitWithACallbackStillEndsAtItsTimeout) {
  std::string release = root_ + "/release_the_long_task";
  std::vector<orrery::ObjectRef<int>> refs = {orrery::Task(RunUntilFileExists).Remote(release),
                                              orrery::Task(SleepThenReturn).Remote(0)};
  orrery::Get(refs[1]);  // one is ready, the other cannot be until the test says so
  size_t last_done = 0;
  auto start = std::chrono::steady_clock::now();
  auto result = orrery::Wait(refs, 2, 300, [&](const orrery::ProgressUpdate& update) { last_done = update.done; });
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(300));
  EXPECT_LT(waited, std::chrono::milliseconds(2500));
  EXPECT_EQ(result.ready.size(), 1u);
  EXPECT_EQ(result.unready.size(), 1u);
  EXPECT_EQ(last_done, 1u);
  std::ofstream(release).put('\n');
  EXPECT_EQ(*orrery::Get(refs[0]), 1);
}

// What `body` writes on stderr (a file here: not a terminal).
template <typename Body>
std::string StderrOf(Body body) {
  std::string path = ::testing::TempDir() + "/progress_stderr.txt";
  std::fflush(stderr);
  int saved = dup(STDERR_FILENO);
  int file = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  dup2(file, STDERR_FILENO);
  close(file);
  body();
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST_F(ProgressTest, ProgressWritesALineAtEachTenthWhenStderrIsNotATerminal) {
  auto refs = Sleepers(40, 10);
  std::string written = StderrOf([&] { orrery::Progress(refs, "sleepers"); });
  std::regex line_form(R"(sleepers: (\d+)/40 \((\d+)%\), [0-9.]+/s, (ETA \d+ s|ETA \?|done in \d+ s))");
  std::istringstream lines(written);
  int lines_seen = 0;
  int last_done = -1;
  std::string last;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("sleepers:", 0) != 0) continue;  // the runtime's own log lines, if any
    std::smatch match;
    ASSERT_TRUE(std::regex_match(line, match, line_form)) << line;
    int done = std::stoi(match[1]);
    EXPECT_GT(done, last_done) << written;
    last_done = done;
    last = line;
    ++lines_seen;
  }
  EXPECT_GE(lines_seen, 1) << written;
  EXPECT_LE(lines_seen, 10) << written;  // at most one per tenth
  EXPECT_THAT(last, ::testing::HasSubstr("40/40 (100%)"));
  EXPECT_THAT(last, ::testing::HasSubstr("done in"));
  for (const auto& value : orrery::Get(refs)) EXPECT_EQ(*value, 10);
}

}  // namespace

int main(int argc, char** argv) {
  // In a worker process this serves tasks and never returns.
  orrery::internal::ServeIfWorker();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
