// An event loop's dispatcher: work for a loop that is gone is dropped without running, and is
// destroyed on another thread, never the caller's (a gRPC completion thread must not run the
// destructor of a client whose call it is completing: the destructor waits for that call).
#include "src/common/event_loop.h"

#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "gtest/gtest.h"

namespace orrery {
namespace {

// Says on which thread it was destroyed.
class DestructionProbe {
 public:
  explicit DestructionProbe(std::promise<std::thread::id>& where) : where_(where) {}
  ~DestructionProbe() { where_.set_value(std::this_thread::get_id()); }

 private:
  std::promise<std::thread::id>& where_;
};

TEST(EventLoopTest, WorkPostedThroughTheDispatcherRunsOnTheLoop) {
  auto loop = EventLoop::Create("test");
  loop->StartThread();
  std::promise<std::thread::id> ran_on;
  loop->Dispatcher()([&ran_on] { ran_on.set_value(std::this_thread::get_id()); });
  auto ran = ran_on.get_future();
  ASSERT_EQ(ran.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_NE(ran.get(), std::this_thread::get_id());
}

TEST(EventLoopTest, WorkForALoopThatIsGoneIsDroppedAndDestroyedOffTheCallersThread) {
  auto loop = EventLoop::Create("test");
  auto dispatch = loop->Dispatcher();
  loop.reset();
  std::promise<std::thread::id> destroyed_on;
  bool ran = false;
  {
    auto probe = std::make_shared<DestructionProbe>(destroyed_on);
    dispatch([probe = std::move(probe), &ran] { ran = true; });
  }
  auto destroyed = destroyed_on.get_future();
  ASSERT_EQ(destroyed.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_NE(destroyed.get(), std::this_thread::get_id());
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace orrery
