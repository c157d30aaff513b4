// The ready pipe between a daemon and its starter (src/common/daemon_ready.h).
#include "src/common/daemon_ready.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace orrery {
namespace {

using ::orrery::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

// A pipe whose ends close themselves; the writer end may be handed to Report* (which closes it).
class Pipe {
 public:
  Pipe() { EXPECT_EQ(pipe2(fds_, O_CLOEXEC), 0); }
  ~Pipe() {
    if (fds_[0] >= 0) close(fds_[0]);
    if (fds_[1] >= 0) close(fds_[1]);
  }
  int read_end() const { return fds_[0]; }
  // Gives the write end away: whoever takes it closes it.
  int TakeWriteEnd() { return std::exchange(fds_[1], -1); }
  int write_end() const { return fds_[1]; }

 private:
  int fds_[2] = {-1, -1};
};

TEST(DaemonReadyTest, ReadyFieldsReachTheStarter) {
  Pipe pipe;
  ReportReady(pipe.TakeWriteEnd(), {{"port", 6391}, {"node_id", "abc"}});
  auto ready = WaitForReady(pipe.read_end(), 5000, "GCS", "/tmp/gcs.log");
  ASSERT_OK(ready);
  EXPECT_EQ((*ready)["port"], 6391);
  EXPECT_EQ((*ready)["node_id"], "abc");
  EXPECT_EQ((*ready)["ok"], true);
}

TEST(DaemonReadyTest, ReportReadyClosesTheDescriptor) {
  Pipe pipe;
  int fd = pipe.TakeWriteEnd();
  ReportReady(fd, nlohmann::json::object());
  EXPECT_EQ(fcntl(fd, F_GETFD), -1) << "the write end must be closed so the starter sees EOF";
  EXPECT_OK(WaitForReady(pipe.read_end(), 5000, "GCS", "log"));
}

TEST(DaemonReadyTest, ReportWithoutADescriptorIsANoOp) {
  ReportReady(-1, {{"port", 1}});
  ReportFailed(-1, "ignored");
}

TEST(DaemonReadyTest, AFailureReportGivesTheDaemonsError) {
  Pipe pipe;
  ReportFailed(pipe.TakeWriteEnd(), "port 6391 is already in use");
  EXPECT_THAT(WaitForReady(pipe.read_end(), 5000, "GCS", "/tmp/gcs.log"),
              StatusIs(absl::StatusCode::kUnavailable, "port 6391 is already in use"));
}

TEST(DaemonReadyTest, AWriterThatClosesWithoutALineIsUnavailableNamingTheLog) {
  Pipe pipe;
  close(pipe.TakeWriteEnd());
  EXPECT_THAT(WaitForReady(pipe.read_end(), 5000, "raylet", "/tmp/session/logs/raylet.log"),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("raylet"), HasSubstr("exited"), HasSubstr("/tmp/session/logs/raylet.log"))));
}

TEST(DaemonReadyTest, AWriterThatDiesMidLineIsUnavailable) {
  Pipe pipe;
  ASSERT_EQ(write(pipe.write_end(), "{\"ok\": tr", 9), 9);
  close(pipe.TakeWriteEnd());
  EXPECT_THAT(WaitForReady(pipe.read_end(), 5000, "GCS", "gcs.log"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("gcs.log")));
}

TEST(DaemonReadyTest, AnUnreadableLineIsAnError) {
  Pipe pipe;
  ASSERT_EQ(write(pipe.write_end(), "garbage\n", 8), 8);
  auto ready = WaitForReady(pipe.read_end(), 5000, "GCS", "gcs.log");
  EXPECT_FALSE(ready.ok());
  EXPECT_THAT(ready.status().message(), HasSubstr("GCS"));
}

TEST(DaemonReadyTest, ALineWrittenInPiecesIsAssembled) {
  Pipe pipe;
  std::string line = R"({"ok": true, "port": 7})";
  ASSERT_EQ(write(pipe.write_end(), line.data(), 5), 5);
  ASSERT_EQ(write(pipe.write_end(), line.data() + 5, line.size() - 5), static_cast<ssize_t>(line.size() - 5));
  ASSERT_EQ(write(pipe.write_end(), "\n", 1), 1);
  auto ready = WaitForReady(pipe.read_end(), 5000, "GCS", "gcs.log");
  ASSERT_OK(ready);
  EXPECT_EQ((*ready)["port"], 7);
}

TEST(DaemonReadyTest, ASilentWriterIsDeadlineExceededWithinTheTimeout) {
  Pipe pipe;  // the write end stays open and silent
  auto start = std::chrono::steady_clock::now();
  auto ready = WaitForReady(pipe.read_end(), 200, "GCS", "/tmp/gcs.log");
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_THAT(ready, StatusIs(absl::StatusCode::kDeadlineExceeded,
                              AllOf(HasSubstr("GCS"), HasSubstr("200 ms"), HasSubstr("/tmp/gcs.log"))));
  EXPECT_GE(elapsed, std::chrono::milliseconds(190));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

}  // namespace
}  // namespace orrery
