// Placement groups as the schedulers see them: the renamed resources a bundle adds and a task
// in it asks for, and which group a demand belongs to.
#include "src/common/placement_group.h"

#include "gtest/gtest.h"

#include "orrery/common.pb.h"

namespace orrery {
namespace {

const PlacementGroupId kGroup = PlacementGroupId::FromBinary(std::string(PlacementGroupId::kSize, '\x07')).value();
const PlacementGroupId kOther = PlacementGroupId::FromBinary(std::string(PlacementGroupId::kSize, '\x08')).value();

TEST(PlacementGroupResources, ARenamedResourceNamesItsGroupAndWhatItWasRenamedFrom) {
  const std::string in_bundle = GroupResourceName("GPU", kGroup, 1);
  const std::string any_bundle = GroupResourceName("GPU", kGroup, -1);
  EXPECT_EQ(in_bundle, "GPU_group_1_" + kGroup.Hex());
  EXPECT_EQ(any_bundle, "GPU_group_" + kGroup.Hex());
  EXPECT_EQ(GroupOfResource(in_bundle), kGroup);
  EXPECT_EQ(GroupOfResource(any_bundle), kGroup);
  EXPECT_EQ(OriginalResourceOf(in_bundle), "GPU");
  EXPECT_EQ(OriginalResourceOf("GPU"), "GPU");
  EXPECT_FALSE(GroupOfResource("GPU").has_value());
  EXPECT_TRUE(IsGroupResource(in_bundle, kGroup));
  EXPECT_FALSE(IsGroupResource(in_bundle, kOther));
}

TEST(GroupOfDemand, FindsTheGroupOfAResourceSetOrOfAProtobufMapAndNoneOutsideOne) {
  ResourceSet plain;
  plain.Set("CPU", FixedPoint::FromInt(2));
  EXPECT_FALSE(GroupOfDemand(plain.quantities()).has_value());

  ResourceSet in_group = GroupDemand(plain, kGroup, 0);
  EXPECT_EQ(GroupOfDemand(in_group.quantities()), kGroup);

  rpc::ResourceSet proto;
  (*proto.mutable_quantities())["CPU"] = 1;
  EXPECT_FALSE(GroupOfDemand(proto.quantities()).has_value());
  (*proto.mutable_quantities())[GroupResourceName("CPU", kOther, -1)] = 1;
  EXPECT_EQ(GroupOfDemand(proto.quantities()), kOther);
}

}  // namespace
}  // namespace orrery
