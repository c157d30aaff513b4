// Local mode (Config::local_mode) through the public API: what the shared behaviour tests
// (tests/integration/*_test.cc, run in both modes) do not cover: the thread pool under nested
// tasks, actor call order against a slow argument, Shutdown with work pending, objects that a
// task's result carries out, placement groups on the one node, and that everything runs in this
// process, where a debugger sees it.
#include <unistd.h>

#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orrery/api.h"

namespace {

// ---- remote functions (they share this process with the test, so globals reach them) ----

int Pid() { return getpid(); }
int Depth(int n) { return n == 0 ? 0 : 1 + *orrery::Get(orrery::Task(Depth).Remote(n - 1)); }
// Starts `width` children, each `depth` deep, and waits for them all: more waiting tasks than threads.
int FanOut(int width, int depth) {
  std::vector<orrery::ObjectRef<int>> children;
  for (int i = 0; i < width; ++i) children.push_back(orrery::Task(Depth).Remote(depth));
  int sum = 0;
  for (const auto& value : orrery::Get(children)) sum += *value;
  return sum;
}
orrery::ObjectRef<int> PutInTask(int value) { return orrery::Put(value); }
std::pair<int, orrery::ObjectRef<std::string>> PairWithRef(std::string text) { return {1, orrery::Put(text)}; }

std::promise<void> g_gate;
std::shared_future<void> g_gate_open;
int AfterGate(int value) {
  g_gate_open.wait();
  return value;
}

std::promise<void> g_waiter_started;
std::mutex g_mu;
std::string g_waiter_saw;
int WaitForNever(orrery::ObjectRef<int> never) {
  g_waiter_started.set_value();
  try {
    return *orrery::Get(never);
  } catch (const orrery::OrreryException& e) {
    std::lock_guard<std::mutex> lock(g_mu);
    g_waiter_saw = e.what();
    return -1;
  }
}

class Log {
 public:
  static Log* Create() { return new Log(); }
  std::vector<int> Record(int value) {
    entries_.push_back(value);
    return entries_;
  }
  int Pid() { return getpid(); }

 private:
  std::vector<int> entries_;
};

ORRERY_REMOTE(Pid, Depth, FanOut, PutInTask, PairWithRef, AfterGate, WaitForNever, Log::Create, &Log::Record,
              &Log::Pid);

class LocalRuntime : public ::testing::Test {
 protected:
  void SetUp() override {
    orrery::Config config;
    config.local_mode = true;
    config.head_args = {"--num-cpus", "1"};  // the smallest pool: two threads
    orrery::Init(config);
  }
  void TearDown() override { orrery::Shutdown(); }
};

TEST_F(LocalRuntime, TasksAndActorsRunInThisProcess) {
  // What makes local mode debuggable: a breakpoint in a remote function hits in this process.
  EXPECT_EQ(*orrery::Get(orrery::Task(Pid).Remote()), getpid());
  auto log = orrery::Actor(Log::Create).Remote();
  EXPECT_EQ(*orrery::Get(log.Task(&Log::Pid).Remote()), getpid());
  EXPECT_EQ(orrery::GetAliveNodeIds(), std::vector<std::string>{orrery::GetNodeId()});
}

TEST_F(LocalRuntime, NestedTasksFarDeeperThanThePoolFinish) {
  // Each level waits for the next: without lending its thread the two-thread pool would stall.
  EXPECT_EQ(*orrery::Get(orrery::Task(Depth).Remote(12), 60'000), 12);
  // Many waiting at once, at several levels.
  EXPECT_EQ(*orrery::Get(orrery::Task(FanOut).Remote(6, 3), 60'000), 18);
}

TEST_F(LocalRuntime, AnActorCallWaitingForItsArgumentHoldsLaterCallsBack) {
  g_gate = std::promise<void>();
  g_gate_open = g_gate.get_future().share();
  auto log = orrery::Actor(Log::Create).Remote();
  auto first = log.Task(&Log::Record).Remote(orrery::Task(AfterGate).Remote(1));
  auto second = log.Task(&Log::Record).Remote(2);
  auto ready = orrery::Wait(std::vector<orrery::ObjectRef<std::vector<int>>>{second}, 1, 300);
  EXPECT_TRUE(ready.ready.empty()) << "the second call ran before the first";
  g_gate.set_value();
  EXPECT_THAT(*orrery::Get(first), ::testing::ElementsAre(1));
  EXPECT_THAT(*orrery::Get(second), ::testing::ElementsAre(1, 2));
}

TEST_F(LocalRuntime, ARefATaskReturnsOutlivesTheTask) {
  // The task's own ObjectRef is gone before its result is stored; the result holds the object.
  orrery::ObjectRef<int> inner = *orrery::Get(orrery::Task(PutInTask).Remote(41));
  EXPECT_EQ(*orrery::Get(inner, 10'000), 41);
  auto pair = orrery::Get(orrery::Task(PairWithRef).Remote(std::string("carried")));
  EXPECT_EQ(*orrery::Get(pair->second, 10'000), "carried");
}

// Regression (issue 23): unpacking assigned the id before Borrow checked the ref, so a ref that
// failed to unpack was left holding an id it never took a reference to (and released it later).
TEST_F(LocalRuntime, AnObjectRefThatFailsToUnpackIsLeftEmpty) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  const std::string malformed_id = "short";
  packer.pack_array(2);
  packer.pack_bin(static_cast<uint32_t>(malformed_id.size()));
  packer.pack_bin_body(malformed_id.data(), static_cast<uint32_t>(malformed_id.size()));
  packer.pack_bin(0);
  msgpack::object_handle unpacked = msgpack::unpack(buffer.data(), buffer.size());
  orrery::ObjectRef<int> ref = orrery::Put(7);
  EXPECT_THROW(ref.msgpack_unpack(unpacked.get()), orrery::OrreryException);
  EXPECT_TRUE(ref.Empty());
}

TEST_F(LocalRuntime, TheLastHandleGoingEndsAnUnnamedActor) {
  std::string bytes;
  {
    auto log = orrery::Actor(Log::Create).Remote();
    EXPECT_THAT(*orrery::Get(log.Task(&Log::Record).Remote(1)), ::testing::ElementsAre(1));
    bytes = log.ToBytes();  // the bytes alone do not keep it alive
  }
  auto again = orrery::ActorHandle<Log>::FromBytes(bytes);
  try {
    orrery::Get(again.Task(&Log::Record).Remote(2));
    FAIL() << "expected ActorDiedError";
  } catch (const orrery::ActorDiedError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("every handle to it was gone"));
  }
}

TEST_F(LocalRuntime, PlacementGroupsLiveOnTheOneNode) {
  orrery::PlacementGroup fits = orrery::CreatePlacementGroup({"fits", {{{"CPU", 1}}}});
  EXPECT_TRUE(fits.Wait(10));
  EXPECT_EQ(*orrery::Get(orrery::Task(Pid).SetPlacementGroup(fits, 0).Remote()), getpid());
  // A task asking more than its bundle holds stays pending, as on a cluster.
  auto too_big = orrery::Task(Pid).SetPlacementGroup(fits, 0).SetResource("CPU", 2).Remote();
  EXPECT_THROW(orrery::Get(too_big, 200), orrery::GetTimeoutError);
  // The node's one CPU is taken: a second group waits until the first is removed.
  orrery::PlacementGroup waits = orrery::CreatePlacementGroup({"waits", {{{"CPU", 1}}}});
  EXPECT_FALSE(waits.Wait(0));
  EXPECT_THROW(orrery::CreatePlacementGroup({"fits", {{{"CPU", 1}}}}), orrery::OrreryException);
  orrery::RemovePlacementGroup(fits.GetID());
  EXPECT_EQ(orrery::GetPlacementGroupById(fits.GetID()).GetState(), orrery::PlacementGroupState::REMOVED);
  EXPECT_TRUE(waits.Wait(10));
  EXPECT_EQ(orrery::GetPlacementGroup("waits").GetID(), waits.GetID());
  EXPECT_EQ(orrery::GetAllPlacementGroups().size(), 2u);
}

// Shutdown fails what has not run (a task no node can hold, one waiting for its result, calls
// queued behind it) and waits for what runs, which the failures wake.
TEST(LocalRuntimeShutdown, FailsPendingWorkAndWaitsForRunningWork) {
  orrery::Config config;
  config.local_mode = true;
  orrery::Init(config);
  g_waiter_started = std::promise<void>();
  auto never = orrery::Task(Pid).SetResource("unobtainium", 1).Remote();
  auto waiter = orrery::Task(WaitForNever).Remote(never);
  g_waiter_started.get_future().wait();
  auto dependent = orrery::Task(Depth).Remote(never);
  auto log = orrery::Actor(Log::Create).Remote();
  auto blocked_call = log.Task(&Log::Record).Remote(never);
  auto queued_call = log.Task(&Log::Record).Remote(1);

  auto shutdown = std::async(std::launch::async, [] { orrery::Shutdown(); });
  ASSERT_EQ(shutdown.wait_for(std::chrono::seconds(30)), std::future_status::ready) << "Shutdown hangs";
  EXPECT_FALSE(orrery::IsInitialized());
  std::lock_guard<std::mutex> lock(g_mu);
  EXPECT_THAT(g_waiter_saw, ::testing::HasSubstr("shutting down"));
}

TEST(LocalRuntimeShutdown, InitAgainStartsAFreshRuntime) {
  for (int cycle = 0; cycle < 3; ++cycle) {
    orrery::Config config;
    config.local_mode = true;
    orrery::Init(config);
    auto log = orrery::Actor(Log::Create).SetName("log").Remote();
    EXPECT_THAT(*orrery::Get(log.Task(&Log::Record).Remote(cycle)), ::testing::ElementsAre(cycle));
    orrery::Shutdown();
  }
}

}  // namespace
