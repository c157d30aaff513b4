#include "src/core_worker/lineage_table.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace orrery::core {
namespace {

using ::testing::HasSubstr;
using Action = LineageTable::Rebuild::Action;

rpc::WorkerAddress Owner() {
  rpc::WorkerAddress owner;
  owner.set_worker_id(WorkerId::FromRandom().Binary());
  return owner;
}

// A task that made one object, with `padding` bytes of inline argument (its lineage's size).
rpc::TaskSpec Task(const std::string& function, size_t padding = 0) {
  rpc::TaskSpec task;
  task.set_task_id(TaskId::FromRandom().Binary());
  task.set_function_name(function);
  task.add_args()->mutable_value()->set_payload(std::string(padding, 'x'));
  return task;
}

ObjectId ResultOf(const rpc::TaskSpec& task) { return ObjectIdOf(TaskId::FromBinary(task.task_id()).value(), 1); }

ResourceSet Cpus(double n) { return ResourceSet::FromDoubles({{"CPU", n}}).value(); }

TEST(LineageTableTest, ALostResultIsMadeAgainOnceAtATimeWithinItsRetries) {
  LineageTable table(1 << 20, /*default_retries=*/3);
  rpc::TaskSpec task = Task("Make");
  task.set_max_retries(1);
  ObjectId result = ResultOf(task);
  EXPECT_TRUE(table.Record(result, task, Cpus(2)).empty());

  LineageTable::Rebuild first = table.StartRebuild(result, Owner(), "its node died");
  ASSERT_EQ(first.action, Action::kRerun);
  EXPECT_EQ(first.task.function_name(), "Make");
  EXPECT_EQ(first.task.attempt(), 1);
  EXPECT_EQ(first.resources, Cpus(2));
  // A second reader reporting the same loss waits for the same re-run.
  EXPECT_EQ(table.StartRebuild(result, Owner(), "its node died").action, Action::kInProgress);

  table.Record(result, first.task, Cpus(2));  // the re-run's result
  LineageTable::Rebuild second = table.StartRebuild(result, Owner(), "its node died");
  ASSERT_EQ(second.action, Action::kFail);
  EXPECT_EQ(second.error.type(), rpc::ErrorInfo::OBJECT_RECONSTRUCTION_FAILED_MAX_ATTEMPTS);
  EXPECT_THAT(second.error.message(), HasSubstr(result.Hex()));
  EXPECT_THAT(second.error.message(), HasSubstr("Make"));
  EXPECT_THAT(second.error.message(), HasSubstr("its node died"));
  EXPECT_EQ(table.rebuilds(), 1);
}

TEST(LineageTableTest, ARerunThatEndedWithoutAStoredResultMayStartAgain) {
  LineageTable table(1 << 20, 3);
  rpc::TaskSpec task = Task("Make");
  ObjectId result = ResultOf(task);
  table.Record(result, task, Cpus(1));
  ASSERT_EQ(table.StartRebuild(result, Owner(), "lost").action, Action::kRerun);
  table.EndRebuild(result);
  LineageTable::Rebuild again = table.StartRebuild(result, Owner(), "lost");
  ASSERT_EQ(again.action, Action::kRerun);
  EXPECT_EQ(again.task.attempt(), 2);
}

TEST(LineageTableTest, PastItsBoundTheOldestLineageIsEvicted) {
  rpc::TaskSpec old_task = Task("Old", 600), new_task = Task("New", 600);
  int64_t one = static_cast<int64_t>(old_task.ByteSizeLong());
  LineageTable table(one + one / 2, 3);
  ObjectId old_result = ResultOf(old_task), new_result = ResultOf(new_task);
  EXPECT_TRUE(table.Record(old_result, old_task, Cpus(1)).empty());
  EXPECT_EQ(table.Record(new_result, new_task, Cpus(1)), std::vector<ObjectId>{old_result});
  EXPECT_LE(table.bytes(), one + one / 2);

  LineageTable::Rebuild evicted = table.StartRebuild(old_result, Owner(), "lost");
  ASSERT_EQ(evicted.action, Action::kFail);
  EXPECT_EQ(evicted.error.type(), rpc::ErrorInfo::OBJECT_RECONSTRUCTION_FAILED_LINEAGE_EVICTED);
  EXPECT_THAT(evicted.error.message(), HasSubstr("max_lineage_bytes"));
  EXPECT_EQ(table.StartRebuild(new_result, Owner(), "lost").action, Action::kRerun);

  table.Forget(old_result);
  table.Forget(new_result);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.bytes(), 0);
}

TEST(LineageTableTest, AnObjectWithoutLineageIsAPutValueThatCannotBeMadeAgain) {
  LineageTable table(1 << 20, 3);
  LineageTable::Rebuild put = table.StartRebuild(ObjectIdOf(TaskId::FromRandom(), 0), Owner(), "its node died");
  ASSERT_EQ(put.action, Action::kFail);
  EXPECT_EQ(put.error.type(), rpc::ErrorInfo::OBJECT_LOST);
  EXPECT_THAT(put.error.message(), HasSubstr("Put"));
}

}  // namespace
}  // namespace orrery::core
