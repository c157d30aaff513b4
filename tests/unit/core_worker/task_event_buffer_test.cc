// A process's task events: batched to the GCS, bounded with drops counted, failed sends
// counted as drops, a batch each period, and the last batch when the process stops.
#include "src/core_worker/task_event_buffer.h"

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace orrery::core {
namespace {

const NodeId kNode = NodeId::FromRandom();
const WorkerId kWorker = WorkerId::FromRandom();

rpc::TaskSpec Spec(const std::string& function) {
  rpc::TaskSpec task;
  task.set_task_id(TaskId::FromRandom().Binary());
  task.set_job_id(JobIdFromInt(7).Binary());
  task.set_function_name(function);
  task.set_name("named");
  return task;
}

struct Sent {
  absl::Mutex mu;
  std::vector<rpc::AddTaskEventsRequest> batches;
  absl::Status answer = absl::OkStatus();
};

TaskEventBuffer::Send Recorder(Sent& sent) {
  return [&sent](const rpc::AddTaskEventsRequest& request) {
    absl::MutexLock lock(&sent.mu);
    sent.batches.push_back(request);
    return sent.answer;
  };
}

TEST(TaskEventBufferTest, TurnedOffItRecordsAndSendsNothing) {
  Sent sent;
  TaskEventBuffer::Options options;
  options.enabled = false;
  options.period_ms = 1;
  TaskEventBuffer buffer(JobId::FromRandom(), options, Recorder(sent));
  buffer.Start();
  rpc::TaskSpec task = Spec("Square");
  buffer.Record(task, rpc::NORMAL_TASK, rpc::SUBMITTED);
  buffer.Record(task, rpc::NORMAL_TASK, rpc::RUNNING, kNode, kWorker);
  buffer.RecordFailure(task, rpc::NORMAL_TASK, rpc::ErrorInfo(), kNode, kWorker);
  buffer.Flush();
  buffer.Stop();
  absl::MutexLock lock(&sent.mu);
  EXPECT_TRUE(sent.batches.empty());
}

TEST(TaskEventBufferTest, EventsGoInOneBatchWithTheJobAndTheFunctionOnlyOnSubmission) {
  Sent sent;
  TaskEventBuffer buffer(JobId::FromRandom(), {}, Recorder(sent));
  rpc::TaskSpec task = Spec("Square");
  buffer.Record(task, rpc::NORMAL_TASK, rpc::SUBMITTED);
  buffer.Record(task, rpc::NORMAL_TASK, rpc::RUNNING, kNode, kWorker);
  rpc::ErrorInfo error;
  error.set_type(rpc::ErrorInfo::TASK_ERROR);
  error.set_exception_type("std::runtime_error");
  error.set_message("boom");
  buffer.RecordFailure(task, rpc::NORMAL_TASK, error, kNode, kWorker);
  buffer.Flush();
  ASSERT_EQ(sent.batches.size(), 1u);
  const rpc::AddTaskEventsRequest& batch = sent.batches[0];
  ASSERT_EQ(batch.events_size(), 3);
  EXPECT_FALSE(batch.job_id().empty());
  EXPECT_EQ(batch.events(0).function_name(), "Square");
  EXPECT_EQ(batch.events(0).name(), "named");
  EXPECT_TRUE(batch.events(1).function_name().empty());
  EXPECT_EQ(batch.events(0).task_id(), task.task_id());
  EXPECT_EQ(batch.events(0).job_id(), task.job_id());
  EXPECT_TRUE(batch.events(0).node_id().empty()) << "a submission is on no node yet";
  EXPECT_EQ(batch.events(1).task_id(), task.task_id());
  EXPECT_EQ(batch.events(1).state(), rpc::RUNNING);
  EXPECT_EQ(batch.events(1).node_id(), kNode.Binary());
  EXPECT_EQ(batch.events(1).worker_id(), kWorker.Binary());
  EXPECT_GT(batch.events(1).time_us(), 0);
  EXPECT_EQ(batch.events(2).state(), rpc::FAILED);
  EXPECT_EQ(batch.events(2).error_type(), "TASK_ERROR std::runtime_error");
  EXPECT_EQ(batch.events(2).error_message(), "boom");
  // Nothing new: nothing sent.
  buffer.Flush();
  EXPECT_EQ(sent.batches.size(), 1u);
}

TEST(TaskEventBufferTest, AFullBufferDropsAndTheNextBatchSaysHowMany) {
  Sent sent;
  TaskEventBuffer buffer(JobId::FromRandom(), {/*capacity=*/2, /*period_ms=*/1000}, Recorder(sent));
  for (int i = 0; i < 5; ++i) buffer.Record(Spec("f"), rpc::NORMAL_TASK, rpc::SUBMITTED);
  buffer.Flush();
  ASSERT_EQ(sent.batches.size(), 1u);
  EXPECT_EQ(sent.batches[0].events_size(), 2);
  EXPECT_EQ(sent.batches[0].dropped(), 3);
}

TEST(TaskEventBufferTest, EventsThatCouldNotBeSentAreCountedAsDropped) {
  Sent sent;
  sent.answer = absl::UnavailableError("GCS down");
  TaskEventBuffer buffer(JobId::FromRandom(), {}, Recorder(sent));
  buffer.Record(Spec("f"), rpc::NORMAL_TASK, rpc::SUBMITTED);
  buffer.Record(Spec("g"), rpc::NORMAL_TASK, rpc::SUBMITTED);
  buffer.Flush();
  sent.answer = absl::OkStatus();
  buffer.Flush();
  ASSERT_EQ(sent.batches.size(), 2u);
  EXPECT_EQ(sent.batches[1].events_size(), 0);
  EXPECT_EQ(sent.batches[1].dropped(), 2);
}

TEST(TaskEventBufferTest, ABatchGoesEachPeriodAndTheLastWhenStopped) {
  Sent sent;
  absl::Notification first;
  TaskEventBuffer buffer(JobId::FromRandom(), {/*capacity=*/100, /*period_ms=*/10},
                         [&](const rpc::AddTaskEventsRequest& request) {
                           absl::Status status = Recorder(sent)(request);
                           if (!first.HasBeenNotified()) first.Notify();
                           return status;
                         });
  buffer.Start();
  buffer.Record(Spec("f"), rpc::NORMAL_TASK, rpc::SUBMITTED);
  ASSERT_TRUE(first.WaitForNotificationWithTimeout(absl::Seconds(10))) << "no batch within a period";
  buffer.Record(Spec("g"), rpc::NORMAL_TASK, rpc::SUBMITTED);
  buffer.Stop();
  int events = 0;
  for (const auto& batch : sent.batches) events += batch.events_size();
  EXPECT_EQ(events, 2) << "the event recorded last was not sent when the buffer stopped";
}

TEST(TaskEventBufferTest, WhatATaskIs) {
  rpc::TaskSpec task = Spec("f");
  EXPECT_EQ(KindOf(task, false), rpc::NORMAL_TASK);
  task.set_actor_id("actor");
  EXPECT_EQ(KindOf(task, false), rpc::ACTOR_TASK);
  EXPECT_EQ(KindOf(task, true), rpc::ACTOR_CREATION_TASK);
  rpc::ErrorInfo crash;
  crash.set_type(rpc::ErrorInfo::WORKER_CRASHED);
  EXPECT_EQ(ErrorTypeName(crash), "WORKER_CRASHED");
}

}  // namespace
}  // namespace orrery::core
