// Worker and driver failure reports: kept (bounded), published to the lease holder's key,
// counted once however often they are retried, and a dead driver ends its job.
#include "src/gcs/gcs_worker_manager.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/gcs/gcs_test_env.h"

namespace orrery::gcs {
namespace {

class GcsWorkerManagerTest : public ::testing::Test {
 protected:
  GcsWorkerManagerTest()
      : workers_(env_.store, env_.publisher, /*max_history=*/3,
                 [this](const JobId& job, const std::string&) { ended_jobs_.push_back(job); }) {
    env_.publisher.RegisterChannel(rpc::WORKER_DEATH, false, [this] { return workers_.Snapshot(); });
  }

  rpc::WorkerDeath Death(const WorkerId& holder = WorkerId::FromRandom(), rpc::WorkerType type = rpc::WORKER) {
    rpc::WorkerDeath death;
    death.set_worker_id(WorkerId::FromRandom().Binary());
    death.set_job_id(JobIdFromInt(3).Binary());
    death.set_lease_holder_id(holder.Binary());
    death.set_worker_type(type);
    death.set_exit_type(rpc::UNEXPECTED_EXIT);
    return death;
  }

  absl::Status Report(const rpc::WorkerDeath& death) {
    rpc::ReportWorkerFailureRequest request;
    *request.mutable_death() = death;
    return env_
        .Call<rpc::ReportWorkerFailureRequest, rpc::ReportWorkerFailureReply>(
            [this](auto& q, auto* r, auto done) { workers_.HandleReportWorkerFailure(q, r, done); }, request)
        .status();
  }

  int Kept(int limit = 0) {
    rpc::GetWorkerFailuresRequest request;
    request.set_limit(limit);
    auto reply = env_.Call<rpc::GetWorkerFailuresRequest, rpc::GetWorkerFailuresReply>(
        [this](auto& q, auto* r, auto done) { workers_.HandleGetWorkerFailures(q, r, done); }, request);
    return reply.ok() ? reply->deaths_size() : -1;
  }

  GcsTestEnv env_;
  GcsWorkerManager workers_;
  std::vector<JobId> ended_jobs_;
};

TEST_F(GcsWorkerManagerTest, PublishesADeathToItsLeaseHoldersKeyOnce) {
  WorkerId holder = WorkerId::FromRandom();
  auto mine = std::make_shared<RecordingSink>();
  rpc::SubscribeRequest request;
  auto* sub = request.add_channels();
  sub->set_channel(rpc::WORKER_DEATH);
  sub->set_key(holder.Binary());
  ASSERT_OK(env_.publisher.Subscribe(mine, request));
  mine->received.clear();

  rpc::WorkerDeath death = Death(holder);
  ASSERT_OK(Report(death));
  ASSERT_OK(Report(death));  // a retried report
  ASSERT_OK(Report(Death()));  // someone else's worker
  ASSERT_EQ(mine->received.size(), 1u);
  EXPECT_EQ(mine->received[0].worker_death().worker_id(), death.worker_id());
  EXPECT_GT(mine->received[0].worker_death().time_ms(), 0);
  EXPECT_EQ(Kept(), 2);
}

TEST_F(GcsWorkerManagerTest, ADeadDriverEndsItsJob) {
  ASSERT_OK(Report(Death(WorkerId::FromRandom(), rpc::DRIVER)));
  ASSERT_EQ(ended_jobs_.size(), 1u);
  EXPECT_EQ(JobIdToInt(ended_jobs_[0]), 3u);
  ASSERT_OK(Report(Death()));
  EXPECT_EQ(ended_jobs_.size(), 1u);
}

TEST_F(GcsWorkerManagerTest, KeepsABoundedHistoryAndAnswersTheNewest) {
  for (int i = 0; i < 5; ++i) ASSERT_OK(Report(Death()));
  EXPECT_EQ(Kept(), 3);
  EXPECT_EQ(Kept(2), 2);
}

TEST_F(GcsWorkerManagerTest, RefusesMalformedIds) {
  rpc::WorkerDeath death = Death();
  death.set_worker_id("x");
  EXPECT_THAT(Report(death), testing::StatusIs(absl::StatusCode::kInvalidArgument));
  death = Death();
  death.set_lease_holder_id("short");
  EXPECT_THAT(Report(death), testing::StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(Kept(), 0);
}

TEST_F(GcsWorkerManagerTest, ARestartedGcsRestoresTheHistoryAndStillCountsAReportOnce) {
  rpc::WorkerDeath first = Death();
  first.set_time_ms(1000);
  rpc::WorkerDeath second = Death();
  second.set_time_ms(2000);
  ASSERT_OK(Report(second));
  ASSERT_OK(Report(first));

  GcsWorkerManager restarted(env_.store, env_.publisher, /*max_history=*/3, [](const JobId&, const std::string&) {});
  std::optional<absl::Status> loaded;
  restarted.Load([&](absl::Status status) { loaded = status; });
  env_.RunUntil([&] { return loaded.has_value(); });
  ASSERT_TRUE(loaded.has_value());
  ASSERT_OK(*loaded);
  rpc::GetWorkerFailuresRequest request;
  auto reply = env_.Call<rpc::GetWorkerFailuresRequest, rpc::GetWorkerFailuresReply>(
      [&](auto& q, auto* r, auto done) { restarted.HandleGetWorkerFailures(q, r, done); }, request);
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->deaths_size(), 2);
  EXPECT_EQ(reply->deaths(0).worker_id(), first.worker_id());  // oldest first, as before
  EXPECT_EQ(reply->deaths(1).worker_id(), second.worker_id());
  // A report retried across the restart is not a second death.
  rpc::ReportWorkerFailureRequest retried;
  *retried.mutable_death() = first;
  auto answered = env_.Call<rpc::ReportWorkerFailureRequest, rpc::ReportWorkerFailureReply>(
      [&](auto& q, auto* r, auto done) { restarted.HandleReportWorkerFailure(q, r, done); }, retried);
  ASSERT_TRUE(answered.ok());
  reply = env_.Call<rpc::GetWorkerFailuresRequest, rpc::GetWorkerFailuresReply>(
      [&](auto& q, auto* r, auto done) { restarted.HandleGetWorkerFailures(q, r, done); }, request);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->deaths_size(), 2);
}

}  // namespace
}  // namespace orrery::gcs
