#include "src/core_worker/reference_counter.h"

#include "gtest/gtest.h"

namespace orrery::core {
namespace {

rpc::WorkerAddress Address(const WorkerId& id, int port) {
  rpc::WorkerAddress address;
  address.set_worker_id(id.Binary());
  address.set_ip("127.0.0.1");
  address.set_port(port);
  return address;
}

ObjectId Id() { return ObjectIdOf(TaskId::FromRandom(), 0); }

class ReferenceCounterTest : public ::testing::Test {
 protected:
  ReferenceCounterTest()
      : self_(Address(WorkerId::FromRandom(), 1)),
        counter_(self_, ReferenceCounter::Callbacks{
                            [this](const ObjectId& id) { freed_.push_back(id); },
                            [this](const ObjectId& id, const rpc::WorkerAddress& owner) {
                              released_.emplace_back(id, owner.port());
                            },
                            [this](const ObjectId& id) { forgotten_.push_back(id); }}) {}

  rpc::WorkerAddress self_;
  std::vector<ObjectId> freed_;
  std::vector<ObjectId> forgotten_;
  std::vector<std::pair<ObjectId, int>> released_;
  ReferenceCounter counter_;
};

TEST_F(ReferenceCounterTest, AnOwnedObjectIsFreedWhenItsLastRefGoes) {
  ObjectId id = Id();
  counter_.AddOwned(id);
  counter_.AddLocalRef(id);
  counter_.RemoveLocalRef(id);
  EXPECT_TRUE(freed_.empty());
  counter_.RemoveLocalRef(id);
  ASSERT_EQ(freed_.size(), 1u);
  EXPECT_EQ(freed_[0], id);
  EXPECT_FALSE(counter_.IsOwned(id));
}

TEST_F(ReferenceCounterTest, SubmittedTasksAndBorrowersKeepItAlive) {
  ObjectId id = Id();
  counter_.AddOwned(id);
  counter_.AddSubmittedRefs({id});
  WorkerId borrower = WorkerId::FromRandom();
  counter_.AddBorrower(id, Address(borrower, 2));
  counter_.RemoveLocalRef(id);
  counter_.RemoveSubmittedRefs({id});
  EXPECT_TRUE(freed_.empty());
  EXPECT_EQ(counter_.NumBorrowers(id), 1u);
  counter_.OnWorkerDied(borrower);
  EXPECT_EQ(freed_.size(), 1u);
}

TEST_F(ReferenceCounterTest, ARefInsideAValueLivesAsLongAsTheValue) {
  ObjectId inner = Id(), outer = Id();
  counter_.AddOwned(inner);
  counter_.AddOwned(outer, {inner});
  counter_.RemoveLocalRef(inner);  // the handle goes; the value of `outer` still holds it
  EXPECT_TRUE(freed_.empty());
  counter_.RemoveLocalRef(outer);
  ASSERT_EQ(freed_.size(), 2u);
}

TEST_F(ReferenceCounterTest, ABorrowedRefIsReleasedToItsOwnerOnce) {
  ObjectId id = Id();
  rpc::WorkerAddress owner = Address(WorkerId::FromRandom(), 7);
  EXPECT_TRUE(counter_.NoteBorrowed(id, owner));   // register with the owner first
  EXPECT_FALSE(counter_.NoteBorrowed(id, owner));  // already registered
  counter_.AddLocalRef(id);
  EXPECT_EQ(counter_.OwnerOf(id)->port(), 7);
  counter_.RemoveLocalRef(id);
  ASSERT_EQ(released_.size(), 1u);
  EXPECT_EQ(released_[0].second, 7);
  EXPECT_TRUE(freed_.empty());
}

TEST_F(ReferenceCounterTest, ARefToOurOwnObjectComingBackIsNotABorrow) {
  ObjectId id = Id();
  counter_.AddOwned(id);
  EXPECT_FALSE(counter_.NoteBorrowed(id, self_));
  EXPECT_TRUE(counter_.IsOwned(id));
}

// Lineage: a -> b -> c, each made by a task taking the previous one. The user holds only c.
TEST_F(ReferenceCounterTest, ALineageKeepsItsArgumentsKnownAfterTheirValuesAreFreed) {
  ObjectId a = Id(), b = Id(), c = Id();
  counter_.AddOwned(a);
  counter_.AddOwned(b);
  counter_.SetLineage(b, {a});
  counter_.AddOwned(c);
  counter_.SetLineage(c, {b});
  counter_.RemoveLocalRef(a);
  counter_.RemoveLocalRef(b);
  // Their values go, but they stay known (owned) for c's lineage: c can be made again.
  EXPECT_EQ(freed_, (std::vector<ObjectId>{a, b}));
  EXPECT_TRUE(forgotten_.empty());
  EXPECT_TRUE(counter_.IsOwned(a));
  EXPECT_FALSE(counter_.IsHeld(a));
  EXPECT_TRUE(counter_.IsHeld(c));
  // Held again for a re-run, and let go: freed again, still known.
  counter_.AddSubmittedRefs({b});
  EXPECT_TRUE(counter_.IsHeld(b));
  counter_.RemoveSubmittedRefs({b});
  EXPECT_EQ(freed_.size(), 3u);
  EXPECT_TRUE(counter_.IsOwned(b));
  // c goes: the whole chain is forgotten, newest first.
  counter_.RemoveLocalRef(c);
  EXPECT_EQ(forgotten_, (std::vector<ObjectId>{c, b, a}));
  EXPECT_EQ(counter_.size(), 0u);
}

TEST_F(ReferenceCounterTest, ADroppedLineageLetsItsArgumentsBeForgotten) {
  ObjectId a = Id(), b = Id();
  counter_.AddOwned(a);
  counter_.AddOwned(b);
  counter_.SetLineage(b, {a});
  counter_.SetLineage(b, {});  // set once: a second call changes nothing
  counter_.RemoveLocalRef(a);
  EXPECT_TRUE(forgotten_.empty());
  counter_.DropLineage(b);  // evicted
  EXPECT_EQ(forgotten_, std::vector<ObjectId>{a});
  EXPECT_TRUE(counter_.IsOwned(b));
  counter_.RemoveLocalRef(b);
  EXPECT_EQ(forgotten_, (std::vector<ObjectId>{a, b}));
}

TEST_F(ReferenceCounterTest, ALineageNamesOnlyOwnedObjects) {
  ObjectId borrowed = Id(), result = Id();
  counter_.NoteBorrowed(borrowed, Address(WorkerId::FromRandom(), 7));
  counter_.AddLocalRef(borrowed);
  counter_.AddOwned(result);
  counter_.SetLineage(result, {borrowed});
  counter_.RemoveLocalRef(borrowed);
  // Released to its owner at once (its owner keeps its lineage), not kept here.
  ASSERT_EQ(released_.size(), 1u);
  EXPECT_FALSE(counter_.OwnerOf(borrowed).has_value());
}

}  // namespace
}  // namespace orrery::core
