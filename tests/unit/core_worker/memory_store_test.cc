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

TEST(MemoryStoreTest, WaitReturnsWhatIsReadyWhenEnoughAre) {
  MemoryStore store;
  ObjectId a = Id(0), b = Id(1);
  store.Put(a, MakeValue("a"));
  auto values = store.Wait({a, b}, 1, -1);
  ASSERT_NE(values[0], nullptr);
  EXPECT_EQ(values[0]->payload, "a");
  EXPECT_EQ(values[1], nullptr);
}

TEST(MemoryStoreTest, WaitTimesOutWithNullsAndNeverBlocksPastItsDeadline) {
  MemoryStore store;
  auto values = store.Wait({Id(0)}, 1, 20);
  EXPECT_EQ(values[0], nullptr);
}

TEST(MemoryStoreTest, APutWakesAWaiterOnAnotherThreadAndTellsTheBlockHooks) {
  MemoryStore store;
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

TEST(MemoryStoreTest, ManyWaitersForOneValueAllWakeWhetherPollingOrAsleep) {
  // One waiter polls; the rest sleep. A Put, and a Put of an unrelated value first (which ends
  // the poll without satisfying it), must wake every one of them with the value.
  MemoryStore store;
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

TEST(MemoryStoreTest, AGetOfManyEndsWhenTheLastArrivesWhateverTheOrder) {
  // A Get looks at its ids in order and stops at the first missing one: values arriving last
  // first, and an id asked for twice, must still all be found, each in its place.
  MemoryStore store;
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
  for (int i = 0; i < 200; ++i) {
    ASSERT_NE(values[i], nullptr) << i;
    EXPECT_EQ(values[i]->payload, std::to_string(i));
  }
  ASSERT_NE(values[200], nullptr);
  EXPECT_EQ(values[200]->payload, "7");
}

TEST(MemoryStoreTest, AGetThatTimesOutReturnsEveryValueHereEvenAfterAMissingOne) {
  MemoryStore store;
  ObjectId missing = Id(0), here = Id(1);
  store.Put(here, MakeValue("here"));
  auto values = store.Wait({missing, here, here}, 3, 20);
  EXPECT_EQ(values[0], nullptr);
  ASSERT_NE(values[1], nullptr);
  EXPECT_EQ(values[1]->payload, "here");
  ASSERT_NE(values[2], nullptr);
}

TEST(MemoryStoreTest, AValueFoundThenDeletedWhileTheWaitGoesOnIsStillReturned) {
  MemoryStore store;
  ObjectId first = Id(0), second = Id(1);
  store.Put(first, MakeValue("first"));
  std::thread putter;
  auto values = store.Wait({first, second}, 2, -1, [&] {
    store.Delete(first);
    putter = std::thread([&] { store.Put(second, MakeValue("second")); });
  });
  putter.join();
  ASSERT_NE(values[0], nullptr);
  EXPECT_EQ(values[0]->payload, "first");
  ASSERT_NE(values[1], nullptr);
  EXPECT_EQ(values[1]->payload, "second");
}

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
