// The cluster record a GCS storage keeps: a new cluster on empty storage, the stored id and
// token on a restored one, and refusals that name what differs.
#include "src/gcs/gcs_storage_meta.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orrery/version.h"
#include "src/gcs/gcs_table_storage.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/gcs/gcs_test_env.h"

namespace orrery::gcs {
namespace {

using ::orrery::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

class StorageMetaTest : public ::testing::Test {
 protected:
  absl::StatusOr<ClaimedStorage> Claim(const std::string& token, TokenOrigin origin,
                                       const WorkerId& holder = WorkerId::FromRandom()) {
    std::optional<absl::StatusOr<ClaimedStorage>> result;
    ClaimStorage(env_.store, "rocksdb:/var/lib/orrery", token, origin, holder,
                 [&](absl::StatusOr<ClaimedStorage> claimed) { result = std::move(claimed); });
    env_.RunUntil([&] { return result.has_value(); });
    if (!result.has_value()) return absl::DeadlineExceededError("ClaimStorage never answered");
    return *result;
  }

  void StoreRecord(const std::string& bytes) {
    bool stored = false;
    env_.store.Put(kMetaTable, "cluster", bytes, true, [&](absl::StatusOr<bool>) { stored = true; });
    env_.RunUntil([&] { return stored; });
  }

  GcsTestEnv env_;
};

TEST_F(StorageMetaTest, EmptyStorageStartsANewClusterWithTheGivenToken) {
  WorkerId holder = WorkerId::FromRandom();
  auto claimed = Claim("t1", TokenOrigin::kExplicit, holder);
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_FALSE(claimed->restored);
  EXPECT_EQ(claimed->token, "t1");
  EXPECT_EQ(claimed->meta.format_version(), kStorageFormatVersion);
  EXPECT_EQ(claimed->meta.orrery_version(), ORRERY_VERSION_STRING);
  EXPECT_TRUE(ClusterId::FromBinary(claimed->meta.cluster_id()).ok());
  ASSERT_EQ(claimed->meta.actor_lease_holders_size(), 1);
  EXPECT_EQ(claimed->meta.actor_lease_holders(0), holder.Binary());
}

TEST_F(StorageMetaTest, ARestartKeepsTheClusterIdAndTokenAndRemembersEveryHolder) {
  auto first = Claim("t1", TokenOrigin::kExplicit);
  ASSERT_TRUE(first.ok());
  auto second = Claim("fresh", TokenOrigin::kGenerated);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->restored);
  EXPECT_EQ(second->token, "t1");
  EXPECT_EQ(second->meta.cluster_id(), first->meta.cluster_id());
  EXPECT_EQ(second->meta.actor_lease_holders_size(), 2);
}

TEST_F(StorageMetaTest, AnExplicitTokenThatDiffersFromTheStoredOneIsRefusedNamingBothSources) {
  ASSERT_TRUE(Claim("t1", TokenOrigin::kExplicit).ok());
  EXPECT_THAT(Claim("t2", TokenOrigin::kExplicit).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("--token"), HasSubstr("rocksdb:/var/lib/orrery"), HasSubstr("differs"))));
  // Nothing was changed by the refusal.
  auto again = Claim("t1", TokenOrigin::kExplicit);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->token, "t1");
}

TEST_F(StorageMetaTest, ATokenFromTheEnvironmentThatDiffersGivesWayToTheStoredOne) {
  ASSERT_TRUE(Claim("t1", TokenOrigin::kExplicit).ok());
  auto claimed = Claim("left-over", TokenOrigin::kEnvironment);
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_EQ(claimed->token, "t1");
}

TEST_F(StorageMetaTest, StorageOfAnotherFormatIsRefusedNamingBothVersions) {
  rpc::GcsStorageMeta old;
  old.set_format_version(kStorageFormatVersion + 1);
  old.set_orrery_version("9.9.9");
  old.set_token("t1");
  StoreRecord(old.SerializeAsString());
  EXPECT_THAT(Claim("t1", TokenOrigin::kExplicit).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("9.9.9"), HasSubstr(ORRERY_VERSION_STRING))));
}

TEST_F(StorageMetaTest, ARecordThatDoesNotParseIsDataLossNamingTheStorage) {
  StoreRecord(std::string("\xff\xff\xff\xff garbage", 12));
  EXPECT_THAT(Claim("t1", TokenOrigin::kExplicit).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("rocksdb:/var/lib/orrery")));
}

TEST_F(StorageMetaTest, ForgettingEarlierHoldersKeepsOnlyTheCurrentOne) {
  ASSERT_TRUE(Claim("t1", TokenOrigin::kExplicit).ok());
  WorkerId current = WorkerId::FromRandom();
  auto claimed = Claim("t1", TokenOrigin::kExplicit, current);
  ASSERT_TRUE(claimed.ok());
  bool forgotten = false;
  ForgetEarlierHolders(env_.store, claimed->meta, current, [&](absl::Status status) {
    EXPECT_TRUE(status.ok());
    forgotten = true;
  });
  env_.RunUntil([&] { return forgotten; });
  auto next = Claim("t1", TokenOrigin::kExplicit);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->meta.actor_lease_holders_size(), 2);
  EXPECT_EQ(next->meta.actor_lease_holders(0), current.Binary());
}

}  // namespace
}  // namespace orrery::gcs
