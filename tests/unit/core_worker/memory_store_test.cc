#include "src/core_worker/memory_store.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace orrery::core {
namespace {

Value MakeValue(std::string payload) {
  auto value = std::make_shared<internal::SerializedValue>();
  value->payload = std::move(payload);
  return value;
}

ObjectId Id(int n) { return ObjectIdOf(TaskId::FromRandom(), static_cast<uint32_t>(n)); }

// Each value's payload, "null" where there is none.
std::vector<std::string> Payloads(const std::vector<Value>& values) {
  std::vector<std::string> payloads;
  for (const Value& value : values) payloads.push_back(value == nullptr ? "null" : value->payload);
  return payloads;
}

// Waiting, with a waiter polling before it sleeps (as on a machine with 4 CPUs or more) and
// without (a smaller one).
class MemoryStoreWaitTest : public ::testing::TestWithParam<int> {
 protected:
  absl::Duration Poll() const { return absl::Microseconds(GetParam()); }
};

TEST_P(MemoryStoreWaitTest, WaitReturnsWhatIsReadyWhenEnoughAre) {
  MemoryStore store(Poll());
  ObjectId a = Id(0), b = Id(1);
  store.Put(a, MakeValue("a"));
  auto values = store.Wait({a, b}, 1, -1);
  ASSERT_NE(values[0], nullptr);
  EXPECT_EQ(values[0]->payload, "a");
  EXPECT_EQ(values[1], nullptr);
}

TEST_P(MemoryStoreWaitTest, WaitTimesOutWithNullsAndNeverBlocksPastItsDeadline) {
  MemoryStore store(Poll());
  auto values = store.Wait({Id(0)}, 1, 20);
  EXPECT_EQ(values[0], nullptr);
}

TEST_P(MemoryStoreWaitTest, APutWakesAWaiterOnAnotherThreadAndTellsTheBlockHooks) {
  MemoryStore store(Poll());
  ObjectId id = Id(0);
  int blocked = 0, unblocked = 0;
  std::thread putter;
  auto values = store.Wait(
      {id}, 1, -1,
      [&] {
        ++blocked;
        putter = std::thread([&] { store.Put(id, MakeValue("late")); });
      },
      [&] { ++unblocked; });
  putter.join();
  ASSERT_NE(values[0], nullptr);
  EXPECT_EQ(values[0]->payload, "late");
  EXPECT_EQ(blocked, 1);
  EXPECT_EQ(unblocked, 1);
}

TEST_P(MemoryStoreWaitTest, ManyWaitersForOneValueAllWakeWhetherPollingOrAsleep) {
  // With polling, one waiter polls and the rest sleep. A Put, and a Put of an unrelated value
  // first (which ends the poll without satisfying it), must wake every one of them with it.
  MemoryStore store(Poll());
  ObjectId wanted = Id(0), other = Id(1);
  constexpr int kWaiters = 8;
  std::atomic<int> started{0};
  std::vector<std::string> seen(kWaiters);
  std::vector<std::thread> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.emplace_back([&, i] {
      ++started;
      auto values = store.Wait({wanted}, 1, -1);
      seen[i] = values[0] == nullptr ? "null" : values[0]->payload;
    });
  }
  while (started.load() < kWaiters) std::this_thread::yield();
  store.Put(other, MakeValue("other"));
  store.Put(wanted, MakeValue("v"));
  for (auto& waiter : waiters) waiter.join();
  for (const std::string& s : seen) EXPECT_EQ(s, "v");
}

TEST_P(MemoryStoreWaitTest, AGetOfManyEndsWhenTheLastArrivesWhateverTheOrder) {
  // A Get looks at its ids in order and stops at the first missing one: values arriving last
  // first, and an id asked for twice, must still all be found, each in its place.
  MemoryStore store(Poll());
  std::vector<ObjectId> ids;
  for (int i = 0; i < 200; ++i) ids.push_back(Id(i));
  ids.push_back(ids[7]);
  std::thread putter;
  auto values = store.Wait(ids, ids.size(), -1, [&] {
    putter = std::thread([&] {
      for (int i = 199; i >= 0; --i) store.Put(ids[i], MakeValue(std::to_string(i)));
    });
  });
  putter.join();
  std::vector<std::string> expected;
  for (int i = 0; i < 200; ++i) expected.push_back(std::to_string(i));
  expected.push_back("7");
  EXPECT_EQ(Payloads(values), expected);
}

TEST_P(MemoryStoreWaitTest, AGetThatTimesOutReturnsEveryValueHereEvenAfterAMissingOne) {
  MemoryStore store(Poll());
  ObjectId missing = Id(0), here = Id(1);
  store.Put(here, MakeValue("here"));
  auto values = store.Wait({missing, here, here}, 3, 20);
  EXPECT_EQ(Payloads(values), (std::vector<std::string>{"null", "here", "here"}));
}

TEST_P(MemoryStoreWaitTest, AValueFoundThenDeletedWhileTheWaitGoesOnIsStillReturned) {
  MemoryStore store(Poll());
  ObjectId first = Id(0), second = Id(1);
  store.Put(first, MakeValue("first"));
  std::thread putter;
  auto values = store.Wait({first, second}, 2, -1, [&] {
    store.Delete(first);
    putter = std::thread([&] { store.Put(second, MakeValue("second")); });
  });
  putter.join();
  EXPECT_EQ(Payloads(values), (std::vector<std::string>{"first", "second"}));
}

INSTANTIATE_TEST_SUITE_P(PollingOrNot, MemoryStoreWaitTest, ::testing::Values(0, 500),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return info.param == 0 ? std::string("SleepingAtOnce") : std::string("Polling500us");
                         });

TEST(MemoryStoreTest, OnReadyRunsNowOrWhenTheValueArrives) {
  MemoryStore store;
  ObjectId here = Id(0), later = Id(1);
  store.Put(here, MakeValue("x"));
  std::string seen;
  store.OnReady(here, [&](const Value& v) { seen += v->payload; });
  store.OnReady(later, [&](const Value& v) { seen += v->payload; });
  EXPECT_EQ(seen, "x");
  store.Put(later, MakeValue("y"));
  EXPECT_EQ(seen, "xy");
  store.Delete(here);
  EXPECT_FALSE(store.Contains(here));
  EXPECT_EQ(store.size(), 1u);
}

// Regression (issue 23): an owner answers a GetObject that waited in vain PENDING, and each
// such poll left its callback behind until the value came, if ever.
TEST(MemoryStoreTest, ACancelledCallbackIsDroppedAndNeverRuns) {
  MemoryStore store;
  ObjectId id = Id(0);
  int ran = 0;
  for (int poll = 0; poll < 100; ++poll) {
    uint64_t ticket = store.OnReady(id, [&](const Value&) { ++ran; });
    store.CancelOnReady(id, ticket);
  }
  EXPECT_EQ(store.num_waiting(), 0u);
  uint64_t kept = store.OnReady(id, [&](const Value&) { ran += 1000; });
  store.CancelOnReady(Id(1), kept);  // another object's: nothing to cancel
  EXPECT_EQ(store.num_waiting(), 1u);
  store.Put(id, MakeValue("x"));
  EXPECT_EQ(ran, 1000);
  EXPECT_EQ(store.num_waiting(), 0u);
  store.CancelOnReady(id, kept);  // after it ran: nothing happens
}

// Regression (issue 23): the callbacks waiting for an object that was deleted (freed) before
// its value came were kept for good.
TEST(MemoryStoreTest, DeletingAnObjectDropsTheCallbacksWaitingForIt) {
  MemoryStore store;
  ObjectId freed = Id(0), other = Id(1);
  bool ran = false;
  store.OnReady(freed, [&](const Value&) { ran = true; });
  store.OnReady(other, [](const Value&) {});
  store.Delete(freed);
  EXPECT_EQ(store.num_waiting(), 1u);
  store.Put(freed, MakeValue("x"));
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace orrery::core
