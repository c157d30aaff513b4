// A node's working directories: a package is fetched and unpacked once however many leases ask
// for it at once, a damaged or missing package is an error naming why and is tried again on
// the next ask, the unpacked folder holds what was packed, and a released one is deleted.
#include "src/common/working_dirs.h"

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/common/directory_package.h"

namespace orrery {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class WorkingDirsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("working_dirs_test_" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "src");
    std::ofstream(root_ / "src" / "data.txt") << "weights";
    auto package = PackDirectory((root_ / "src").string(), 1 << 20);
    ASSERT_TRUE(package.ok()) << package.status();
    package_ = std::move(*package);
  }
  void TearDown() override { fs::remove_all(root_); }

  // Answers each fetch later, when the test says (as the GCS would, on the loop).
  WorkingDirs::Fetch Fetcher() {
    return [this](const std::string& name, std::function<void(absl::StatusOr<std::string>)> done) {
      fetched_.push_back(name);
      answers_.push_back(std::move(done));
    };
  }
  // Asks for a package and runs the loop until the answer (for one known already: at once).
  absl::StatusOr<std::string> Ensure(WorkingDirs& dirs, const std::string& name) {
    std::optional<absl::StatusOr<std::string>> result;
    dirs.Ensure(name, [&result](absl::StatusOr<std::string> folder) { result = std::move(folder); });
    RunUntil([&result] { return result.has_value(); });
    return *result;
  }
  // Runs the loop until `done` (the unpacking thread posts its result to it), for at most 10 s.
  void RunUntil(const std::function<bool()>& done) {
    io_.restart();  // the last guard's end stopped it
    auto work = boost::asio::make_work_guard(io_);
    for (int i = 0; i < 1000 && !done(); ++i) io_.run_for(std::chrono::milliseconds(10));
  }

  boost::asio::io_context io_;
  fs::path root_;
  DirectoryPackage package_;
  std::vector<std::string> fetched_;
  std::vector<std::function<void(absl::StatusOr<std::string>)>> answers_;
};

TEST_F(WorkingDirsTest, ConcurrentAsksShareOneFetchAndTheFolderHoldsThePackage) {
  WorkingDirs dirs(io_, (root_ / "unpacked").string(), Fetcher());
  std::vector<absl::StatusOr<std::string>> results;
  for (int i = 0; i < 3; ++i) {
    dirs.Ensure(package_.sha256_hex, [&results](absl::StatusOr<std::string> folder) { results.push_back(folder); });
  }
  ASSERT_EQ(fetched_.size(), 1u);
  EXPECT_EQ(dirs.Find(package_.sha256_hex), "");
  answers_[0](package_.bytes);
  RunUntil([&results] { return results.size() == 3; });
  ASSERT_EQ(results.size(), 3u);
  std::string folder = (root_ / "unpacked" / package_.sha256_hex).string();
  for (const auto& result : results) EXPECT_EQ(result.value_or(""), folder);
  std::stringstream text;
  text << std::ifstream(folder + "/data.txt").rdbuf();
  EXPECT_EQ(text.str(), "weights");
  // Known now: a later ask is answered at once, with no fetch.
  EXPECT_EQ(dirs.Find(package_.sha256_hex), folder);
  EXPECT_EQ(Ensure(dirs, package_.sha256_hex).value_or(""), folder);
  EXPECT_EQ(fetched_.size(), 1u);
}

TEST_F(WorkingDirsTest, APackageThatDoesNotMatchItsNameIsRefusedAndFetchedAgainNextTime) {
  WorkingDirs dirs(io_, (root_ / "unpacked").string(), Fetcher());
  std::optional<absl::StatusOr<std::string>> result;
  dirs.Ensure(package_.sha256_hex, [&result](absl::StatusOr<std::string> folder) { result = folder; });
  answers_[0](package_.bytes + "x");
  RunUntil([&result] { return result.has_value(); });
  ASSERT_TRUE(result.has_value());
  EXPECT_THAT(result->status().message(), HasSubstr("does not match"));
  EXPECT_FALSE(fs::exists(root_ / "unpacked" / package_.sha256_hex));

  // Not remembered: the next ask fetches again, and may succeed.
  result.reset();
  dirs.Ensure(package_.sha256_hex, [&result](absl::StatusOr<std::string> folder) { result = folder; });
  ASSERT_EQ(fetched_.size(), 2u);
  answers_[1](package_.bytes);
  RunUntil([&result] { return result.has_value(); });
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->ok()) << result->status();
}

TEST_F(WorkingDirsTest, AFailedFetchIsReportedWithItsCause) {
  WorkingDirs dirs(io_, (root_ / "unpacked").string(), Fetcher());
  std::optional<absl::StatusOr<std::string>> result;
  dirs.Ensure("abc", [&result](absl::StatusOr<std::string> folder) { result = folder; });
  answers_[0](absl::NotFoundError("the GCS has no package abc"));
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(absl::IsNotFound(result->status()));
  EXPECT_THAT(result->status().message(), HasSubstr("fetching the package from the GCS: the GCS has no package abc"));
}

TEST_F(WorkingDirsTest, AFolderThatCannotBeCreatedIsReportedWithItsPath) {
  std::ofstream(root_ / "in_the_way") << "a file";
  WorkingDirs dirs(io_, (root_ / "in_the_way" / "working_dir").string(), Fetcher());
  std::optional<absl::StatusOr<std::string>> result;
  dirs.Ensure(package_.sha256_hex, [&result](absl::StatusOr<std::string> folder) { result = folder; });
  answers_[0](package_.bytes);
  RunUntil([&result] { return result.has_value(); });
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->ok());
  EXPECT_THAT(result->status().message(), HasSubstr("in_the_way"));
}

// A package no job uses any more is deleted from the host (once the deleting thread is done,
// which destroying WorkingDirs waits for); one never unpacked here is nothing to release.
TEST_F(WorkingDirsTest, AReleasedPackagesFolderIsDeleted) {
  std::string folder;
  {
    WorkingDirs dirs(io_, (root_ / "unpacked").string(), Fetcher());
    dirs.Release("never-unpacked");
    std::optional<absl::StatusOr<std::string>> result;
    dirs.Ensure(package_.sha256_hex, [&result](absl::StatusOr<std::string> ready) { result = ready; });
    answers_[0](package_.bytes);
    RunUntil([&result] { return result.has_value(); });
    ASSERT_TRUE(result.has_value() && result->ok());
    folder = **result;
    ASSERT_TRUE(fs::exists(folder + "/data.txt"));
    dirs.Release(package_.sha256_hex);
    EXPECT_EQ(dirs.Find(package_.sha256_hex), "");
  }
  EXPECT_FALSE(fs::exists(folder));
}

// Released and asked for again at once: fetched again, and the new copy is not deleted by the
// release before it (deleting and unpacking run in order).
TEST_F(WorkingDirsTest, APackageAskedForAgainAfterItsReleaseIsFetchedAndUnpackedAgain) {
  WorkingDirs dirs(io_, (root_ / "unpacked").string(), Fetcher());
  std::optional<absl::StatusOr<std::string>> first;
  dirs.Ensure(package_.sha256_hex, [&first](absl::StatusOr<std::string> ready) { first = ready; });
  answers_[0](package_.bytes);
  RunUntil([&first] { return first.has_value(); });
  ASSERT_TRUE(first.has_value() && first->ok());
  dirs.Release(package_.sha256_hex);
  std::optional<absl::StatusOr<std::string>> again;
  dirs.Ensure(package_.sha256_hex, [&again](absl::StatusOr<std::string> ready) { again = ready; });
  ASSERT_EQ(fetched_.size(), 2u);
  answers_[1](package_.bytes);
  RunUntil([&again] { return again.has_value(); });
  ASSERT_TRUE(again.has_value() && again->ok()) << (again.has_value() ? again->status().ToString() : "no answer");
  EXPECT_EQ(**again, **first);
  std::stringstream text;
  text << std::ifstream(**again + "/data.txt").rdbuf();
  EXPECT_EQ(text.str(), "weights");
}

}  // namespace
}  // namespace orrery
