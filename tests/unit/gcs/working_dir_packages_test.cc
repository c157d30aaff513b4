// The working_dir packages in the GCS KV (working_dir_packages.h): a package no job uses is
// deleted once its hold ends; one a running or submitted job uses is kept whatever its age; an
// upload or an existence check holds it again; a restarted GCS holds what it finds; nothing
// outside the working_dir namespace is touched. And the KV tells who stores or looks for a key.
#include "src/gcs/working_dir_packages.h"

#include <optional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/common/runtime_env.h"
#include "src/gcs/gcs_kv_manager.h"
#include "src/gcs/gcs_table_storage.h"
#include "tests/unit/gcs/gcs_test_env.h"

namespace orrery::gcs {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr int64_t kHoldMs = 1000;

class WorkingDirPackagesTest : public ::testing::Test {
 protected:
  WorkingDirPackagesTest() : packages_(env_.io, env_.store, kHoldMs, [this] { return in_use_; }) {}

  void Store(const std::string& ns, const std::string& key) {
    std::optional<absl::StatusOr<bool>> stored;
    env_.store.Put(kKvTable, KvRowKey(ns, key), "bytes", true, [&](absl::StatusOr<bool> added) { stored = added; });
    env_.RunUntil([&] { return stored.has_value(); });
    ASSERT_TRUE(stored.has_value() && stored->ok());
  }
  bool Stored(const std::string& ns, const std::string& key) {
    std::optional<absl::StatusOr<bool>> exists;
    env_.store.Exists(kKvTable, KvRowKey(ns, key), [&](absl::StatusOr<bool> answer) { exists = answer; });
    env_.RunUntil([&] { return exists.has_value(); });
    return exists.has_value() && exists->value_or(false);
  }
  // The packages a sweep at `now_ms` deleted.
  std::vector<std::string> Sweep(int64_t now_ms) {
    std::optional<std::vector<std::string>> deleted;
    packages_.Sweep(now_ms, [&](std::vector<std::string> packages) { deleted = std::move(packages); });
    env_.RunUntil([&] { return deleted.has_value(); });
    EXPECT_TRUE(deleted.has_value()) << "the sweep never finished";
    return deleted.value_or(std::vector<std::string>{"<none>"});
  }

  GcsTestEnv env_;
  absl::flat_hash_set<std::string> in_use_;
  WorkingDirPackages packages_;
};

TEST_F(WorkingDirPackagesTest, APackageFoundAtStartIsHeldThenDeletedWhenNoJobUsesIt) {
  Store(kWorkingDirKvNamespace, "aaa");
  EXPECT_THAT(Sweep(0), IsEmpty());  // maybe uploaded just before this GCS started
  EXPECT_THAT(Sweep(kHoldMs - 1), IsEmpty());
  EXPECT_THAT(Sweep(kHoldMs), ElementsAre("aaa"));
  EXPECT_FALSE(Stored(kWorkingDirKvNamespace, "aaa"));
}

TEST_F(WorkingDirPackagesTest, APackageARunningJobUsesIsKeptAndGoesWhenTheJobEnds) {
  EXPECT_THAT(Sweep(0), IsEmpty());
  Store(kWorkingDirKvNamespace, "used");
  in_use_ = {"used"};
  EXPECT_THAT(Sweep(100 * kHoldMs), IsEmpty());
  EXPECT_TRUE(Stored(kWorkingDirKvNamespace, "used"));
  in_use_.clear();  // its last job ended, long after the upload
  EXPECT_THAT(Sweep(100 * kHoldMs + 1), ElementsAre("used"));
}

TEST_F(WorkingDirPackagesTest, AnUploadOrAQuestionHoldsThePackageForTheHold) {
  EXPECT_THAT(Sweep(0), IsEmpty());
  Store(kWorkingDirKvNamespace, "new");
  packages_.Hold("new", 5000);  // uploaded, its driver not registered yet
  EXPECT_THAT(Sweep(5000 + kHoldMs - 1), IsEmpty());
  packages_.Hold("new", 5500);  // another driver asked whether it is there
  EXPECT_THAT(Sweep(5000 + kHoldMs), IsEmpty());
  EXPECT_THAT(Sweep(5500 + kHoldMs), ElementsAre("new"));
}

TEST_F(WorkingDirPackagesTest, KeysOfOtherNamespacesAreNeverDeleted) {
  EXPECT_THAT(Sweep(0), IsEmpty());
  Store("fun", "aaa");
  Store(std::string(kWorkingDirKvNamespace) + "_other", "bbb");
  EXPECT_THAT(Sweep(10 * kHoldMs), IsEmpty());
  EXPECT_TRUE(Stored("fun", "aaa"));
  EXPECT_TRUE(Stored(std::string(kWorkingDirKvNamespace) + "_other", "bbb"));
}

TEST(GcsKvManagerTest, StoringAKeyOrAskingForItIsReportedAndReadingItIsNot) {
  GcsTestEnv env;
  GcsKvManager kv(env.store);
  std::vector<std::string> accessed;
  kv.AddAccessListener([&](const std::string& ns, const std::string& key) { accessed.push_back(ns + "/" + key); });
  rpc::KvPutRequest put;
  put.set_namespace_("working_dir");
  put.set_key("abc");
  put.set_value("bytes");
  ASSERT_TRUE((env.Call<rpc::KvPutRequest, rpc::KvPutReply>(
                   [&](auto& q, auto* r, auto done) { kv.HandleKvPut(q, r, done); }, put))
                  .ok());
  rpc::KvExistsRequest exists;
  exists.set_namespace_("working_dir");
  exists.set_key("def");
  ASSERT_TRUE((env.Call<rpc::KvExistsRequest, rpc::KvExistsReply>(
                   [&](auto& q, auto* r, auto done) { kv.HandleKvExists(q, r, done); }, exists))
                  .ok());
  rpc::KvGetRequest get;
  get.set_namespace_("working_dir");
  get.set_key("abc");
  ASSERT_TRUE((env.Call<rpc::KvGetRequest, rpc::KvGetReply>(
                   [&](auto& q, auto* r, auto done) { kv.HandleKvGet(q, r, done); }, get))
                  .ok());
  EXPECT_THAT(accessed, ElementsAre("working_dir/abc", "working_dir/def"));
}

}  // namespace
}  // namespace orrery::gcs
