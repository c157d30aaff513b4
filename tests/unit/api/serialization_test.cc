// Values on the wire, as the public templates write and read them.
#include <array>
#include <map>
#include <tuple>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orrery/api.h"

namespace orrery::internal {
namespace {

struct Sample {
  int id = 0;
  std::string label;
  std::vector<double> weights;
  MSGPACK_DEFINE(id, label, weights);
};

template <typename T>
T RoundTrip(const T& value) {
  return Deserialize<T>(Serialize(value));
}

TEST(SerializationTest, StringsAndTriviallyCopyableVectorsTakeTheRawPath) {
  EXPECT_EQ(Serialize(std::string("abc")).format, Format::kRaw);
  std::vector<float> floats = {1.5f, -2.0f};
  SerializedValue raw = Serialize(floats);
  EXPECT_EQ(raw.format, Format::kRaw);
  EXPECT_EQ(raw.payload.size(), 2 * sizeof(float));
  EXPECT_EQ(RoundTrip(floats), floats);
  EXPECT_EQ(RoundTrip(std::string("\0bin\xff", 5)), std::string("\0bin\xff", 5));
  // vector<bool> is not contiguous: msgpack.
  EXPECT_EQ(Serialize(std::vector<bool>{true}).format, Format::kMsgpack);
}

TEST(SerializationTest, StructsContainersAndTuplesTakeMsgpack) {
  Sample sample{7, "seven", {0.5, 1.5}};
  Sample back = RoundTrip(sample);
  EXPECT_EQ(back.id, 7);
  EXPECT_EQ(back.label, "seven");
  EXPECT_EQ(back.weights, sample.weights);
  std::map<std::string, std::vector<int>> map = {{"a", {1, 2}}, {"b", {}}};
  EXPECT_EQ(RoundTrip(map), map);
  auto tuple = std::make_tuple(1, std::string("x"), 2.5);
  EXPECT_EQ(RoundTrip(tuple), tuple);
  std::array<int, 3> array = {1, 2, 3};
  EXPECT_EQ(RoundTrip(array), array);
}

TEST(SerializationTest, HostileMsgpackIsRefusedNotAllocated) {
  SerializedValue hostile;
  hostile.format = Format::kMsgpack;
  hostile.payload = std::string("\xdd\xff\xff\xff\xff", 5);  // "an array of 4 billion elements"
  EXPECT_THROW(Deserialize<std::vector<std::string>>(hostile), OrreryException);
  hostile.payload = std::string("\xdb\xff\xff\xff\xff", 5);  // "a 4 GiB string"
  EXPECT_THROW(Deserialize<std::string>(hostile), OrreryException);  // not raw either
  EXPECT_THROW((Deserialize<std::map<int, int>>(hostile)), OrreryException);
}

TEST(SerializationTest, AValueOfTheWrongShapeSaysWhichType) {
  SerializedValue text = Serialize(std::string("abc"));
  try {
    Deserialize<Sample>(text);
    FAIL();
  } catch (const OrreryException& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("Sample"));
  }
  SerializedValue odd;
  odd.format = Format::kRaw;
  odd.payload = "12345";
  EXPECT_THROW(Deserialize<std::vector<int32_t>>(odd), OrreryException);
}

int Twice(int x) { return 2 * x; }
int Thrice(int x) { return 3 * x; }
ORRERY_REMOTE(Twice);

TEST(FunctionRegistryTest, RegistersByNameAndRefusesClashes) {
  const RemoteFunction* twice = FunctionRegistry::Instance().Find("Twice");
  ASSERT_NE(twice, nullptr);
  EXPECT_EQ(twice->arity, 1u);
  EXPECT_EQ(FunctionRegistry::Instance().FindByKey(KeyOf(&Twice)), twice);
  // The same registration again is a no-op (a header included twice).
  EXPECT_NO_THROW(RegisterRemoteFunctions("Twice", &Twice));
  EXPECT_THROW(RegisterRemoteFunctions("Twice", &Thrice), OrreryException);
  EXPECT_THROW(RegisterRemoteFunctions("Other", &Twice), OrreryException);
  SerializedValue result = twice->invoke({std::make_shared<const SerializedValue>(Serialize(21))});
  EXPECT_EQ(Deserialize<int>(result), 42);
  EXPECT_THROW(twice->invoke({}), ArgumentError);
}

TEST(FunctionRegistryTest, SplitsRegisteredNamesOutsideParentheses) {
  EXPECT_THAT(SplitRegisteredNames("Add, ORRERY_FUNC(Scale, double, int), &Foo"),
              ::testing::ElementsAre("Add", "ORRERY_FUNC(Scale, double, int)", "Foo"));
}

// An Orrery program sees ids in hex, as the CLI prints them; every id it hands back is taken in
// either form (a Ray program's form, its bytes: tests/compat).
TEST(IdTextTest, IdsReadAsHexAndAreTakenInEitherForm) {
  ASSERT_FALSE(InRayIdForm());
  const std::string bytes(20, '\x2a');
  std::string hex;
  for (int i = 0; i < 20; ++i) hex += "2a";
  ObjectRef<int> ref(AdoptTag{}, bytes);
  EXPECT_EQ(ref.ID(), hex);
  EXPECT_EQ(ObjectRef<int>(hex).binary_id(), bytes);
  EXPECT_EQ(ObjectRef<int>(bytes).binary_id(), bytes);
  EXPECT_EQ(ObjectIdOfText(""), "");
  EXPECT_THAT([] { ObjectIdOfText("2a2a"); }, ::testing::ThrowsMessage<OrreryException>(
                                                  ::testing::HasSubstr("not an object id (20 bytes, or 40 hex digits)")));
  EXPECT_THROW(ObjectIdOfText(std::string(40, 'g')), OrreryException);

  const std::string group_hex = "0123456789abcdef0123456789abcdef";
  PlacementGroup group(group_hex, PlacementGroupCreationOptions{});
  EXPECT_EQ(group.GetID(), group_hex);
  EXPECT_EQ(GroupHexOfText(group_hex), group_hex);
  std::string group_bytes;
  for (size_t i = 0; i < group_hex.size(); i += 2) group_bytes.push_back(std::stoi(group_hex.substr(i, 2), nullptr, 16));
  EXPECT_EQ(GroupHexOfText(group_bytes), group_hex);
  EXPECT_THROW(GroupHexOfText("0123"), OrreryException);
}

TEST(ApiChecksTest, WaitAndResourcesAreValidated) {
  EXPECT_THROW(ValidateWait({"a"}, 0), OrreryException);
  EXPECT_THROW(ValidateWait({"a"}, 2), OrreryException);
  EXPECT_THROW(ValidateResources({{"GPU", 2.5}}), OrreryException);
  EXPECT_NO_THROW(ValidateResources({{"GPU", 0.25}, {"custom", 3}}));
  EXPECT_THROW(Get(ObjectRef<int>()), OrreryException);  // not initialized
}

}  // namespace
}  // namespace orrery::internal
