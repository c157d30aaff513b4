// Ray's sub-headers that forward to <ray/api.h>: each alone is enough for what it names.
#include <ray/api/actor_handle.h>
#include <ray/api/object_ref.h>
#include <ray/api/serializer.h>
#include <ray/api/task_options.h>
#include <ray/api/wait_result.h>

#include "gtest/gtest.h"

namespace {

TEST(RayCompatSubHeaders, ForwardingHeadersDeclareHandlesRefsAndOptions) {
  struct Box {};
  ray::ActorHandle<Box> handle;
  ray::ObjectRef<int> ref;
  ray::PlacementGroupCreationOptions options;
  ray::WaitResult<int> result;
  EXPECT_TRUE(handle.Empty());
  EXPECT_TRUE(ref.Empty());
  EXPECT_TRUE(options.bundles.empty());
  EXPECT_TRUE(result.ready.empty());
}

}  // namespace
