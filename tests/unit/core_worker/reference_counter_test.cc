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
                            }}) {}

  rpc::WorkerAddress self_;
  std::vector<ObjectId> freed_;
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

}  // namespace
}  // namespace orrery::core
