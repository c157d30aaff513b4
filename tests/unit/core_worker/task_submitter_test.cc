// TaskSubmitter against a fake raylet: how many leases it asks for, and backpressure.
#include "src/core_worker/task_submitter.h"

#include <algorithm>
#include <future>
#include <thread>

#include "gtest/gtest.h"
#include "src/raylet/client/fake_raylet_client.h"

namespace orrery::core {
namespace {

class TaskSubmitterTest : public ::testing::Test {
 protected:
  void Start(TaskSubmitter::Options options) {
    loop_->StartThread();
    TaskSubmitter::Callbacks callbacks;
    callbacks.on_result = [](const rpc::TaskSpec&, rpc::SerializedObject&&) {};
    callbacks.on_failed = [this](const rpc::TaskSpec& task, const rpc::ErrorInfo& error) {
      std::lock_guard<std::mutex> lock(mu_);
      failed_.push_back(task.function_name() + ": " + error.message());
    };
    rpc::WorkerAddress self;
    self.set_worker_id(WorkerId::FromRandom().Binary());
    submitter_ = std::make_unique<TaskSubmitter>(options, loop_, self, JobIdFromInt(1), raylet_, callbacks);
  }
  ~TaskSubmitterTest() override {
    if (submitter_) submitter_->Stop();
    loop_->Stop();
    // Unanswered calls hold the client (their callbacks keep it alive): drop them.
    raylet_->leases.clear();
    raylet_->cancels.clear();
  }

  static rpc::TaskSpec Task(const std::string& name) {
    rpc::TaskSpec task;
    task.set_task_id(TaskId::FromRandom().Binary());
    task.set_function_name(name);
    return task;
  }
  static ResourceSet Cpu(double n) { return ResourceSet::FromDoubles({{"CPU", n}}).value(); }

  std::shared_ptr<EventLoop> loop_ = EventLoop::Create("test");
  std::shared_ptr<raylet::FakeRayletClient> raylet_ = std::make_shared<raylet::FakeRayletClient>();
  std::unique_ptr<TaskSubmitter> submitter_;
  std::mutex mu_;
  std::vector<std::string> failed_;
};

TEST_F(TaskSubmitterTest, LeaseRequestsPerShapeAreCappedAndAskToHearWhenQueued) {
  TaskSubmitter::Options options;
  options.max_pending_lease_requests = 10;
  Start(options);
  for (int i = 0; i < 3; ++i) submitter_->Submit(Task("small"), Cpu(1));
  EXPECT_EQ(raylet_->leases.size(), 3u);  // no more than there are tasks
  for (int i = 0; i < 22; ++i) submitter_->Submit(Task("small"), Cpu(1));
  EXPECT_EQ(raylet_->leases.size(), 10u);  // the cap
  submitter_->Submit(Task("big"), Cpu(2));
  ASSERT_EQ(raylet_->leases.size(), 11u);  // another shape has its own
  EXPECT_TRUE(raylet_->leases.back().request.answer_if_queued());
  EXPECT_EQ(submitter_->num_pending_tasks(), 26);
}

TEST_F(TaskSubmitterTest, SubmitBlocksPastThePendingBoundUntilThereIsRoom) {
  TaskSubmitter::Options options;
  options.max_pending_tasks = 3;
  Start(options);
  for (int i = 0; i < 3; ++i) submitter_->Submit(Task("queued"), Cpu(1));
  auto fourth = std::async(std::launch::async, [this] { submitter_->Submit(Task("fourth"), Cpu(1)); });
  // Bounded observation, not synchronization: a broken bound lets it through at once.
  EXPECT_EQ(fourth.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  // Stopping makes room (everything fails); the blocked call returns and its task fails too.
  submitter_->Stop();
  fourth.get();
  std::lock_guard<std::mutex> lock(mu_);
  ASSERT_EQ(failed_.size(), 4u);
  EXPECT_NE(std::find(failed_.begin(), failed_.end(), "fourth: Orrery is shutting down"), failed_.end());
  EXPECT_EQ(raylet_->cancels.size(), 3u);  // the lease requests are withdrawn
}

}  // namespace
}  // namespace orrery::core
