// Ids in a Ray program are their bytes, as Ray's API gives them: ObjectRef::ID(),
// ActorHandle::ID() and PlacementGroup::GetID() return them, the constructors taking ids take
// them, and Ray's id classes (<ray/common/id.h>) read and print them. No runtime here: the
// programs in programs/ pass ids between processes on clusters.
#include <ray/api.h>
#include <ray/common/id.h>

#include <unordered_set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace {

using ::testing::HasSubstr;

struct Box {};

TEST(RayCompatIds, RefsHandlesAndGroupsGiveTheirIdsBytes) {
  const std::string object_bytes(20, '\x07');
  ray::ObjectRef<int> ref(object_bytes);
  EXPECT_EQ(ref.ID(), object_bytes);
  EXPECT_EQ(ray::ObjectID::FromBinary(ref.ID()).Binary(), object_bytes);
  // Orrery's hex, as the CLI prints it, names the same object.
  EXPECT_EQ(ray::ObjectRef<int>(ray::ObjectID::FromBinary(object_bytes).Hex()).ID(), object_bytes);
  EXPECT_EQ(ray::ObjectRef<int>().ID(), "");
  EXPECT_THROW(ray::ObjectRef<int>(std::string(28, '\x07')), ray::internal::RayException);  // Ray's length

  const std::string actor_bytes(16, '\xa5');
  ray::ActorHandle<Box> handle(actor_bytes);
  EXPECT_EQ(handle.ID(), actor_bytes);
  EXPECT_EQ(ray::ActorHandle<Box>(ray::ActorID::FromBinary(actor_bytes).Hex()).ID(), actor_bytes);

  ray::PlacementGroup group("000102030405060708090a0b0c0d0e0f", ray::PlacementGroupCreationOptions{});
  EXPECT_EQ(group.GetID(), ray::PlacementGroupID::FromHex("000102030405060708090a0b0c0d0e0f").Binary());
  EXPECT_EQ(group.GetID().size(), ray::PlacementGroupID::Size());
}

TEST(RayCompatIds, RaysIdClassesReadPrintCompareAndHash) {
  ray::ObjectID id = ray::ObjectID::FromBinary(std::string(20, '\x01'));
  std::string hex;
  for (int i = 0; i < 20; ++i) hex += "01";
  EXPECT_EQ(id.Hex(), hex);
  EXPECT_EQ(ray::ObjectID::FromHex(id.Hex()), id);
  EXPECT_EQ(ray::ObjectID::FromHex(std::string(40, 'F')).Binary(), std::string(20, '\xff'));
  EXPECT_FALSE(id.IsNil());
  EXPECT_TRUE(ray::ObjectID::Nil().IsNil());
  EXPECT_TRUE(ray::ObjectID().IsNil());
  EXPECT_TRUE(ray::ObjectID::FromBinary("").IsNil());  // an empty ref's ID()
  EXPECT_NE(ray::ObjectID::Nil(), id);
  std::unordered_set<ray::ObjectID> ids{id, ray::ObjectID::FromBinary(id.Binary()), ray::ObjectID::Nil()};
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_EQ(ray::ActorID::Size(), 16u);
  try {
    ray::ObjectID::FromBinary("short");
    FAIL() << "a 5-byte object id was taken";
  } catch (const ray::internal::RayException& e) {
    EXPECT_THAT(e.what(), HasSubstr("ObjectID::FromBinary: expected 20 bytes, got 5"));
  }
  EXPECT_THROW(ray::ActorID::FromHex("xyz"), ray::internal::RayException);
  EXPECT_THROW(ray::ActorID::FromHex(std::string(32, 'g')), ray::internal::RayException);
}

}  // namespace
