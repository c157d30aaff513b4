// Strong IDs (src/common/id.h): random, binary and hex forms, nil, and job numbers.
#include "src/common/id.h"

#include <string>

#include "absl/container/flat_hash_set.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace orrery {
namespace {

using ::orrery::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(IdTest, RandomIdsAreDistinctAndNotNil) {
  absl::flat_hash_set<NodeId> seen;
  for (int i = 0; i < 1000; ++i) {
    NodeId id = NodeId::FromRandom();
    EXPECT_FALSE(id.IsNil());
    EXPECT_TRUE(seen.insert(id).second) << "repeated id " << id;
  }
}

TEST(IdTest, BinaryRoundTrips) {
  WorkerId id = WorkerId::FromRandom();
  std::string binary = id.Binary();
  EXPECT_EQ(binary.size(), WorkerId::kSize);
  auto parsed = WorkerId::FromBinary(binary);
  ASSERT_OK(parsed);
  EXPECT_EQ(*parsed, id);
}

TEST(IdTest, HexRoundTripsAndIsLowercaseOfTwiceTheSize) {
  NodeId id = NodeId::FromRandom();
  std::string hex = id.Hex();
  EXPECT_EQ(hex.size(), 2 * NodeId::kSize);
  EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos) << hex;
  EXPECT_EQ(id.ShortHex(), hex.substr(0, 8));
  auto parsed = NodeId::FromHex(hex);
  ASSERT_OK(parsed);
  EXPECT_EQ(*parsed, id);
}

TEST(IdTest, FromHexAcceptsUppercase) {
  auto parsed = JobId::FromHex("00AbCdEf");
  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->Hex(), "00abcdef");
}

TEST(IdTest, FromBinaryOfTheWrongSizeNamesTheTypeAndBothSizes) {
  EXPECT_THAT(NodeId::FromBinary("short"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("NodeId"), HasSubstr("16"), HasSubstr("got 5"))));
  EXPECT_THAT(JobId::FromBinary(std::string(16, 'x')),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("JobId"), HasSubstr("must be 4 bytes"), HasSubstr("got 16"))));
  EXPECT_THAT(LeaseId::FromBinary(""), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("LeaseId")));
}

TEST(IdTest, FromHexRejectsNonHexAndWrongLength) {
  EXPECT_THAT(JobId::FromHex("0000000g"),
              StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr("JobId"), HasSubstr("not hex"))));
  EXPECT_THAT(JobId::FromHex("zz000000"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(JobId::FromHex("000001"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("JobId")));
  EXPECT_THAT(ClusterId::FromHex(""), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ClusterId")));
}

TEST(IdTest, NilIsAllZeroAndDefault) {
  EXPECT_TRUE(NodeId::Nil().IsNil());
  EXPECT_TRUE(NodeId().IsNil());
  EXPECT_EQ(NodeId::Nil(), NodeId());
  EXPECT_EQ(NodeId::Nil().Binary(), std::string(16, '\0'));
  EXPECT_EQ(JobId::Nil().Hex(), "00000000");
  auto one_bit = NodeId::FromBinary(std::string(15, '\0') + "\x01");
  ASSERT_OK(one_bit);
  EXPECT_FALSE(one_bit->IsNil());
}

TEST(IdTest, FromOptionalBinaryTreatsEmptyAsNilAndOtherwiseChecksTheSize) {
  auto empty = WorkerId::FromOptionalBinary("");
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->IsNil());

  WorkerId id = WorkerId::FromRandom();
  auto full = WorkerId::FromOptionalBinary(id.Binary());
  ASSERT_OK(full);
  EXPECT_EQ(*full, id);

  EXPECT_THAT(WorkerId::FromOptionalBinary("abc"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("WorkerId")));
}

TEST(IdTest, JobIdNumbersRoundTripAndPrintBigEndian) {
  EXPECT_EQ(JobIdFromInt(1).Hex(), "00000001");
  EXPECT_EQ(JobIdFromInt(0x01020304).Hex(), "01020304");
  EXPECT_EQ(JobIdFromInt(256).Hex(), "00000100");
  for (uint32_t n : {0u, 1u, 255u, 256u, 65536u, 0x7fffffffu, 0xffffffffu}) {
    EXPECT_EQ(JobIdToInt(JobIdFromInt(n)), n);
  }
  EXPECT_TRUE(JobIdFromInt(0).IsNil());
  // Big-endian bytes make byte order agree with numeric order.
  EXPECT_LT(JobIdFromInt(255), JobIdFromInt(256));
}

TEST(IdTest, EqualityAndHashFollowTheBytes) {
  NodeId a = NodeId::FromRandom();
  NodeId copy = *NodeId::FromBinary(a.Binary());
  NodeId b = NodeId::FromRandom();
  EXPECT_EQ(a, copy);
  EXPECT_NE(a, b);
  EXPECT_EQ(std::hash<NodeId>()(a), std::hash<NodeId>()(copy));
  absl::flat_hash_set<NodeId> set = {a};
  EXPECT_TRUE(set.contains(copy));
  EXPECT_FALSE(set.contains(b));
}

}  // namespace
}  // namespace orrery
