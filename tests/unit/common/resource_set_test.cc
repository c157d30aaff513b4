// Resource quantities (src/common/fixed_point.h, resource_set.h): exact arithmetic and validation.
#include "src/common/resource_set.h"

#include <cmath>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orrery/common.pb.h"
#include "src/common/fixed_point.h"
#include "tests/testing/status_matchers.h"

namespace orrery {
namespace {

using ::orrery::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

ResourceSet Make(const std::unordered_map<std::string, double>& values) {
  auto set = ResourceSet::FromDoubles(values);
  EXPECT_OK(set);
  return set.ok() ? *set : ResourceSet();
}

TEST(FixedPointTest, HalvesAddUpToExactlyOne) {
  FixedPoint half = FixedPoint::FromDouble(0.5);
  EXPECT_EQ(half + half, FixedPoint::FromInt(1));
  EXPECT_TRUE((half + half).IsWhole());
}

TEST(FixedPointTest, TenTenthsAddUpToExactlyOneWithoutDrift) {
  FixedPoint sum;
  double drifting = 0;
  for (int i = 0; i < 10; ++i) {
    sum += FixedPoint::FromDouble(0.1);
    drifting += 0.1;
  }
  ASSERT_NE(drifting, 1.0) << "doubles were expected to drift here";
  EXPECT_EQ(sum, FixedPoint::FromInt(1));
  EXPECT_EQ(sum.ToDouble(), 1.0);
  // And back down: acquiring and releasing many times returns to zero exactly.
  for (int i = 0; i < 10; ++i) sum -= FixedPoint::FromDouble(0.1);
  EXPECT_EQ(sum.raw(), 0);
}

TEST(FixedPointTest, ToStringIsTheShortestDecimal) {
  EXPECT_EQ(FixedPoint::FromInt(1).ToString(), "1");
  EXPECT_EQ(FixedPoint::FromInt(0).ToString(), "0");
  EXPECT_EQ(FixedPoint::FromDouble(0.5).ToString(), "0.5");
  EXPECT_EQ(FixedPoint::FromDouble(0.0001).ToString(), "0.0001");
  EXPECT_EQ(FixedPoint::FromDouble(2.25).ToString(), "2.25");
  EXPECT_EQ(FixedPoint::FromDouble(10.05).ToString(), "10.05");
  EXPECT_EQ(FixedPoint::FromInt(-3).ToString(), "-3");
  EXPECT_EQ(FixedPoint::FromDouble(-0.5).ToString(), "-0.5");
  EXPECT_EQ(FixedPoint::FromDouble(-1.25).ToString(), "-1.25");
}

TEST(FixedPointTest, FloorAndCeilRoundTowardsTheirSides) {
  EXPECT_EQ(FixedPoint::FromDouble(1.5).Floor(), 1);
  EXPECT_EQ(FixedPoint::FromDouble(1.5).Ceil(), 2);
  EXPECT_EQ(FixedPoint::FromDouble(-1.5).Floor(), -2);
  EXPECT_EQ(FixedPoint::FromDouble(-1.5).Ceil(), -1);
  EXPECT_EQ(FixedPoint::FromInt(2).Floor(), 2);
  EXPECT_EQ(FixedPoint::FromInt(2).Ceil(), 2);
}

TEST(ResourceSetTest, FromDoublesRejectsAnEmptyName) {
  EXPECT_THAT(ResourceSet::FromDoubles({{"", 1}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name is empty")));
}

TEST(ResourceSetTest, FromDoublesRejectsNonFiniteValuesNamingTheResource) {
  for (double bad : {std::nan(""), std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity()}) {
    EXPECT_THAT(ResourceSet::FromDoubles({{"GPU", bad}}),
                StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr("GPU"), HasSubstr("finite"))))
        << bad;
  }
}

TEST(ResourceSetTest, FromDoublesRejectsNegativeAndZeroUnlessZeroIsAllowed) {
  EXPECT_THAT(ResourceSet::FromDoubles({{"CPU", -1}}),
              StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr("CPU"), HasSubstr("> 0"))));
  EXPECT_THAT(ResourceSet::FromDoubles({{"CPU", 0}}),
              StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr("CPU"), HasSubstr("> 0"))));
  EXPECT_THAT(ResourceSet::FromDoubles({{"CPU", -1}}, /*allow_zero=*/true),
              StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr("CPU"), HasSubstr(">= 0"))));
  auto zero = ResourceSet::FromDoubles({{"CPU", 0}}, /*allow_zero=*/true);
  ASSERT_OK(zero);
  EXPECT_TRUE(zero->Empty()) << "zero entries are not stored";
}

TEST(ResourceSetTest, FromDoublesRejectsAbsurdlyLargeAndTooSmallQuantities) {
  EXPECT_THAT(ResourceSet::FromDoubles({{"memory", 2e12}}),
              StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr("memory"), HasSubstr("limit"))));
  auto at_limit = ResourceSet::FromDoubles({{"memory", ResourceSet::kMaxQuantity}});
  ASSERT_OK(at_limit);
  EXPECT_EQ(at_limit->Get("memory"), FixedPoint::FromInt(1'000'000'000'000));

  EXPECT_THAT(ResourceSet::FromDoubles({{"tiny", 0.00001}}),
              StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr("tiny"), HasSubstr("0.0001"))));
  auto smallest = ResourceSet::FromDoubles({{"tiny", 0.0001}});
  ASSERT_OK(smallest);
  EXPECT_EQ(smallest->Get("tiny").raw(), 1);
}

TEST(ResourceSetTest, FromJsonParsesAnObjectOfNumbers) {
  auto set = ResourceSet::FromJson(R"({"CPU": 2, "x": 0.5})");
  ASSERT_OK(set);
  EXPECT_EQ(set->Get("CPU"), FixedPoint::FromInt(2));
  EXPECT_EQ(set->Get("x"), FixedPoint::FromDouble(0.5));
  EXPECT_EQ(set->quantities().size(), 2u);
  auto empty = ResourceSet::FromJson("{}");
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->Empty());
}

TEST(ResourceSetTest, FromJsonRejectsNonObjectsAndNonNumbers) {
  for (const char* bad : {"[1, 2]", "3", "\"CPU\"", "not json", "", "{\"CPU\": 1"}) {
    EXPECT_THAT(ResourceSet::FromJson(bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("JSON object")))
        << bad;
  }
  EXPECT_THAT(ResourceSet::FromJson(R"({"CPU": "two"})"),
              StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr("CPU"), HasSubstr("number"))));
  EXPECT_THAT(ResourceSet::FromJson(R"({"GPU": -1})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("GPU")));
}

TEST(ResourceSetTest, ProtoRoundTripsRawQuantities) {
  ResourceSet set = Make({{"CPU", 1.5}, {"GPU", 0.0001}});
  rpc::ResourceSet proto;
  set.ToProto(&proto);
  EXPECT_EQ(proto.quantities().at("CPU"), 15000);
  auto back = ResourceSet::FromProto(proto);
  ASSERT_OK(back);
  EXPECT_EQ(*back, set);
}

TEST(ResourceSetTest, FromProtoRejectsWhatAPeerMustNotSend) {
  rpc::ResourceSet negative;
  (*negative.mutable_quantities())["CPU"] = -10000;
  EXPECT_THAT(ResourceSet::FromProto(negative),
              StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr("CPU"), HasSubstr("-1"))));

  rpc::ResourceSet absurd;
  (*absurd.mutable_quantities())["GPU"] = std::numeric_limits<int64_t>::max();
  EXPECT_THAT(ResourceSet::FromProto(absurd),
              StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr("GPU"), HasSubstr("limit"))));

  rpc::ResourceSet unnamed;
  (*unnamed.mutable_quantities())[""] = 1;
  EXPECT_THAT(ResourceSet::FromProto(unnamed), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ResourceSetTest, IsSubsetOfComparesEveryResource) {
  ResourceSet node = Make({{"CPU", 4}, {"GPU", 1}});
  EXPECT_TRUE(Make({{"CPU", 4}}).IsSubsetOf(node));
  EXPECT_TRUE(Make({{"CPU", 1}, {"GPU", 0.5}}).IsSubsetOf(node));
  EXPECT_TRUE(ResourceSet().IsSubsetOf(node));
  EXPECT_FALSE(Make({{"CPU", 4.0001}}).IsSubsetOf(node));
  EXPECT_FALSE(Make({{"custom", 1}}).IsSubsetOf(node)) << "an absent resource counts as zero";
  EXPECT_FALSE(node.IsSubsetOf(Make({{"CPU", 4}})));
}

TEST(ResourceSetTest, AddAndSubtractDropZeroEntries) {
  ResourceSet available = Make({{"CPU", 2}, {"GPU", 1}});
  ResourceSet lease = Make({{"GPU", 1}, {"CPU", 0.5}});
  available -= lease;
  EXPECT_EQ(available.Get("CPU"), FixedPoint::FromDouble(1.5));
  EXPECT_EQ(available.quantities().count("GPU"), 0u) << available.ToString();
  available += lease;
  EXPECT_EQ(available, Make({{"CPU", 2}, {"GPU", 1}}));
  EXPECT_EQ(Make({{"CPU", 1}}) + Make({{"x", 2}}), Make({{"CPU", 1}, {"x", 2}}));
  EXPECT_TRUE((Make({{"CPU", 1}}) - Make({{"CPU", 1}})).Empty());
}

TEST(ResourceSetTest, SubtractingMoreThanThereIsGoesNegative) {
  ResourceSet available = Make({{"CPU", 1}});
  available -= Make({{"CPU", 2}});
  EXPECT_EQ(available.Get("CPU"), FixedPoint::FromInt(-1));
  EXPECT_EQ(available.ToString(), "{CPU: -1}");
}

TEST(ResourceSetTest, ToStringIsSortedByName) {
  EXPECT_EQ(Make({{"GPU", 0.5}, {"CPU", 1}}).ToString(), "{CPU: 1, GPU: 0.5}");
  EXPECT_EQ(ResourceSet().ToString(), "{}");
}

TEST(ResourceSetTest, ToDoublesGivesBackTheValues) {
  auto doubles = Make({{"CPU", 1.5}, {"x", 0.25}}).ToDoubles();
  EXPECT_EQ(doubles.size(), 2u);
  EXPECT_EQ(doubles["CPU"], 1.5);
  EXPECT_EQ(doubles["x"], 0.25);
}

}  // namespace
}  // namespace orrery
