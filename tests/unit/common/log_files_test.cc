// A node's log folder as `orrery logs` reads it: the files by prefix, bounded reads from an
// offset, the last lines of a file, and names that would leave the folder refused.
#include "src/common/log_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace orrery {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class LogFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("log_files_test_" + std::to_string(getpid()));
    fs::create_directories(dir_ / "subdir");
    Write("worker-aa.out", "one\ntwo\nthree\n");
    Write("worker-aa.err", "");
    Write("raylet-n1.log", "r");
    Write(".hidden", "h");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  absl::StatusOr<rpc::ReadLogReply> Read(const std::string& name, int64_t offset, int64_t max, int64_t tail = 0) {
    rpc::ReadLogRequest request;
    request.set_name(name);
    request.set_offset(offset);
    request.set_max_bytes(max);
    request.set_tail_lines(tail);
    return ReadLogFile(dir_.string(), request);
  }
  fs::path dir_;
};

TEST_F(LogFilesTest, FilesAreListedByNameAndPrefixWithoutFoldersOrHiddenOnes) {
  auto all = ListLogFiles(dir_.string(), "");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name(), "raylet-n1.log");
  EXPECT_EQ((*all)[2].name(), "worker-aa.out");
  EXPECT_EQ((*all)[2].size(), 14);
  EXPECT_GT((*all)[2].modified_ms(), 0);
  auto worker = ListLogFiles(dir_.string(), "worker-aa");
  ASSERT_TRUE(worker.ok());
  EXPECT_EQ(worker->size(), 2u);
  EXPECT_FALSE(ListLogFiles((dir_ / "missing").string(), "").ok());
}

TEST_F(LogFilesTest, AReadIsBoundedAndSaysWhereToGoOn) {
  auto piece = Read("worker-aa.out", 4, 3);
  ASSERT_TRUE(piece.ok());
  EXPECT_EQ(piece->data(), "two");
  EXPECT_EQ(piece->next_offset(), 7);
  EXPECT_EQ(piece->size(), 14);
  auto past_end = Read("worker-aa.out", 14, 0);
  ASSERT_TRUE(past_end.ok());
  EXPECT_EQ(past_end->data(), "");
  EXPECT_EQ(past_end->next_offset(), 14);
}

TEST_F(LogFilesTest, ATailStartsAtTheLastLines) {
  EXPECT_EQ(Read("worker-aa.out", 0, 0, 2)->data(), "two\nthree\n");
  EXPECT_EQ(Read("worker-aa.out", 0, 0, 10)->data(), "one\ntwo\nthree\n");
  Write("partial.log", "a\nb\nunfinished");
  EXPECT_EQ(Read("partial.log", 0, 0, 1)->data(), "unfinished");
  EXPECT_EQ(Read("partial.log", 0, 0, 2)->data(), "b\nunfinished");
  EXPECT_EQ(Read("worker-aa.err", 0, 0, 5)->data(), "");
}

TEST_F(LogFilesTest, NamesThatLeaveTheFolderAndMissingFilesAreRefusedNamingThem) {
  for (const std::string name : {"../etc/passwd", ".hidden", "subdir/x", ""}) {
    auto refused = Read(name, 0, 0);
    EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << name;
  }
  auto missing = Read("worker-zz.out", 0, 0);
  EXPECT_TRUE(absl::IsNotFound(missing.status()));
  EXPECT_THAT(missing.status().message(), HasSubstr("worker-zz.out"));
  EXPECT_TRUE(absl::IsNotFound(Read("subdir", 0, 0).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Read("worker-aa.out", -1, 0).status()));
}

// Anyone who can write into the folder could leave a FIFO there: reading it must not wait for a
// writer, which would hold the raylet's (or the GCS's) log reader for good.
TEST_F(LogFilesTest, AFifoIsRefusedAtOnceRatherThanWaitedOn) {
  std::string fifo = (dir_ / "worker-fifo.out").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto read = std::async(std::launch::async, [&] { return Read("worker-fifo.out", 0, 0); });
  bool answered = read.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  if (!answered) close(open(fifo.c_str(), O_WRONLY));  // lets the stuck read go, so the test ends
  ASSERT_TRUE(answered) << "reading a FIFO waited for a writer";
  auto refused = read.get();
  EXPECT_TRUE(absl::IsNotFound(refused.status()));
  EXPECT_THAT(refused.status().message(), HasSubstr("is not a log file"));
}

}  // namespace
}  // namespace orrery
