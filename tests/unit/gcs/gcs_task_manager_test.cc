// The GCS's task history: events folded into attempts whatever order they arrive in, a bound
// per job that evicts the oldest and says so, workers' dropped events counted, and reads by job
// and with a limit.
#include "src/gcs/gcs_task_manager.h"

#include <map>
#include <optional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace orrery::gcs {
namespace {

rpc::TaskEvent Event(const std::string& task, rpc::TaskState state, int64_t time_us, const std::string& job = "j1",
                     int attempt = 0) {
  rpc::TaskEvent event;
  event.set_task_id(task);
  event.set_attempt(attempt);
  event.set_job_id(job);
  event.set_state(state);
  event.set_time_us(time_us);
  return event;
}

class GcsTaskManagerTest : public ::testing::Test {
 protected:
  void Add(std::vector<rpc::TaskEvent> events, const std::string& job = "", int64_t dropped = 0) {
    rpc::AddTaskEventsRequest request;
    for (auto& event : events) *request.add_events() = event;
    request.set_job_id(job);
    request.set_dropped(dropped);
    rpc::AddTaskEventsReply reply;
    std::optional<absl::Status> status;
    manager_.HandleAddTaskEvents(request, &reply, [&](absl::Status s) { status = s; });
    ASSERT_TRUE(status.has_value() && status->ok());
  }
  rpc::GetTaskEventsReply Get(const std::string& job = "", int64_t limit = 0, bool counts_only = false) {
    rpc::GetTaskEventsRequest request;
    request.set_job_id(job);
    request.set_limit(limit);
    request.set_counts_only(counts_only);
    rpc::GetTaskEventsReply reply;
    manager_.HandleGetTaskEvents(request, &reply, [](absl::Status) {});
    return reply;
  }

  GcsTaskManager manager_{3};
};

TEST_F(GcsTaskManagerTest, EventsArrivingOutOfOrderMakeOneAttemptInItsLatestState) {
  rpc::TaskEvent running = Event("t1", rpc::RUNNING, 20);
  running.set_node_id("n1");
  running.set_worker_id("w1");
  rpc::TaskEvent submitted = Event("t1", rpc::SUBMITTED, 10);
  submitted.set_function_name("Square");
  submitted.set_kind(rpc::NORMAL_TASK);
  // The worker's batch reaches the GCS before the owner's.
  Add({running});
  Add({submitted});
  rpc::GetTaskEventsReply reply = Get();
  ASSERT_EQ(reply.tasks_size(), 1);
  rpc::TaskAttempt attempt = reply.tasks(0);
  EXPECT_EQ(attempt.state(), rpc::RUNNING);
  EXPECT_EQ(attempt.function_name(), "Square");
  EXPECT_EQ(attempt.node_id(), "n1");
  EXPECT_EQ(attempt.worker_id(), "w1");
  EXPECT_EQ(attempt.submitted_us(), 10);
  EXPECT_EQ(attempt.running_us(), 20);

  rpc::TaskEvent failed = Event("t1", rpc::FAILED, 30);
  failed.set_error_type("TASK_ERROR std::runtime_error");
  failed.set_error_message("boom");
  Add({failed});
  attempt = Get().tasks(0);
  EXPECT_EQ(attempt.state(), rpc::FAILED);
  EXPECT_EQ(attempt.error_type(), "TASK_ERROR std::runtime_error");
  EXPECT_EQ(attempt.error_message(), "boom");
  EXPECT_EQ(attempt.ended_us(), 30);
}

TEST_F(GcsTaskManagerTest, EachAttemptIsKeptApart) {
  Add({Event("t1", rpc::FAILED, 10, "j1", 0), Event("t1", rpc::FINISHED, 20, "j1", 1)});
  rpc::GetTaskEventsReply reply = Get();
  ASSERT_EQ(reply.tasks_size(), 2);
  EXPECT_EQ(reply.tasks(0).state(), rpc::FAILED);
  EXPECT_EQ(reply.tasks(1).state(), rpc::FINISHED);
  EXPECT_EQ(reply.tasks(1).attempt(), 1);
}

TEST_F(GcsTaskManagerTest, AJobKeepsItsNewestAttemptsAndCountsWhatItEvictedAndWhatWorkersDropped) {
  for (const char* task : {"a", "b", "c", "d", "e"}) Add({Event(task, rpc::FINISHED, 1)});
  Add({}, "j1", /*dropped=*/7);
  Add({Event("x", rpc::FINISHED, 1, "j2")});
  rpc::GetTaskEventsReply reply = Get("j1");
  ASSERT_EQ(reply.tasks_size(), 3);
  EXPECT_EQ(reply.tasks(0).task_id(), "c");
  EXPECT_EQ(reply.tasks(2).task_id(), "e");
  ASSERT_EQ(reply.jobs_size(), 1);
  EXPECT_EQ(reply.jobs(0).attempts(), 3);
  EXPECT_EQ(reply.jobs(0).evicted_by_gcs(), 2);
  EXPECT_EQ(reply.jobs(0).dropped_by_workers(), 7);
  // Every job's, oldest first.
  EXPECT_EQ(Get().tasks_size(), 4);
  EXPECT_EQ(Get().tasks(3).task_id(), "x");
}

TEST_F(GcsTaskManagerTest, ALimitReturnsTheNewestAndSaysMoreMatched) {
  for (const char* task : {"a", "b", "c"}) Add({Event(task, rpc::FINISHED, 1)});
  rpc::GetTaskEventsReply reply = Get("", 2);
  ASSERT_EQ(reply.tasks_size(), 2);
  EXPECT_EQ(reply.tasks(0).task_id(), "b");
  EXPECT_TRUE(reply.truncated());
  EXPECT_FALSE(Get("", 3).truncated());
}

// What `orrery job submit`'s live line asks for every second: counts, not attempts.
TEST_F(GcsTaskManagerTest, CountsOnlyCountsEachTaskInTheStateOfItsLatestAttempt) {
  Add({Event("a", rpc::FAILED, 10, "j1", 0), Event("a", rpc::RUNNING, 20, "j1", 1)});  // retried: running
  Add({Event("b", rpc::FINISHED, 10)});
  Add({Event("x", rpc::FAILED, 10, "j2")});
  rpc::GetTaskEventsReply reply = Get("j1", 0, /*counts_only=*/true);
  EXPECT_EQ(reply.tasks_size(), 0);
  ASSERT_EQ(reply.jobs_size(), 1);
  std::map<rpc::TaskState, int64_t> counts;
  for (const rpc::TaskStateCount& count : reply.jobs(0).tasks_by_state()) counts[count.state()] = count.tasks();
  EXPECT_EQ(counts, (std::map<rpc::TaskState, int64_t>{{rpc::RUNNING, 1}, {rpc::FINISHED, 1}}));
  // Without counts_only, none are counted.
  EXPECT_EQ(Get("j1").jobs(0).tasks_by_state_size(), 0);
}

}  // namespace
}  // namespace orrery::gcs
