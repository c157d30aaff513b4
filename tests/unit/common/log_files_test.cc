// A node's log folder as `orrery logs` reads it: the files by prefix, bounded reads from an
// offset, the last lines of a file, and names that would leave the folder refused.
#include "src/common/log_files.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

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

}  // namespace
}  // namespace orrery
