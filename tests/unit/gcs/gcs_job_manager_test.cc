// The job table: ids handed out in order and remembered across a restart, the version check,
// and the ways a job ends (its driver says so, dies, or its node dies).
#include "src/gcs/gcs_job_manager.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orrery/version.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/gcs/gcs_test_env.h"

namespace orrery::gcs {
namespace {

using ::testing::HasSubstr;
using testing::StatusIs;

class GcsJobManagerTest : public ::testing::Test {
 protected:
  GcsJobManagerTest() : jobs_(env_.store, env_.publisher) {
    env_.publisher.RegisterChannel(rpc::JOB, true, [this] { return jobs_.Snapshot(); });
    rpc::SubscribeRequest request;
    request.add_channels()->set_channel(rpc::JOB);
    EXPECT_OK(env_.publisher.Subscribe(sink_, request));
    sink_->received.clear();
  }

  absl::StatusOr<JobId> NextId(GcsJobManager& jobs) {
    auto reply = env_.Call<rpc::GetNextJobIdRequest, rpc::GetNextJobIdReply>(
        [&](auto& q, auto* r, auto done) { jobs.HandleGetNextJobId(q, r, done); }, rpc::GetNextJobIdRequest());
    if (!reply.ok()) return reply.status();
    return JobId::FromBinary(reply->job_id());
  }

  absl::Status Add(const JobId& id, const std::string& version = ORRERY_VERSION_STRING,
                   const NodeId& node = NodeId::FromRandom()) {
    rpc::AddJobRequest request;
    request.mutable_job()->set_job_id(id.Binary());
    request.mutable_job()->set_version(version);
    request.mutable_job()->set_driver_node_id(node.Binary());
    return env_
        .Call<rpc::AddJobRequest, rpc::AddJobReply>(
            [this](auto& q, auto* r, auto done) { jobs_.HandleAddJob(q, r, done); }, request)
        .status();
  }

  rpc::JobInfo::State State(const JobId& id) {
    rpc::GetJobRequest request;
    request.set_job_id(id.Binary());
    auto reply = env_.Call<rpc::GetJobRequest, rpc::GetJobReply>(
        [this](auto& q, auto* r, auto done) { jobs_.HandleGetJob(q, r, done); }, request);
    EXPECT_OK(reply.status());
    return reply.ok() ? reply->job().state() : rpc::JobInfo::RUNNING;
  }

  GcsTestEnv env_;
  GcsJobManager jobs_;
  std::shared_ptr<RecordingSink> sink_ = std::make_shared<RecordingSink>();
};

TEST_F(GcsJobManagerTest, HandsOutIncreasingIdsThatSurviveARestart) {
  auto first = NextId(jobs_);
  auto second = NextId(jobs_);
  ASSERT_OK(first.status());
  ASSERT_OK(second.status());
  EXPECT_EQ(JobIdToInt(*first), 1u);
  EXPECT_EQ(JobIdToInt(*second), 2u);
  GcsJobManager restarted(env_.store, env_.publisher);
  std::optional<absl::Status> loaded;
  restarted.Load([&](absl::Status s) { loaded = s; });
  env_.RunUntil([&] { return loaded.has_value(); });
  auto third = NextId(restarted);
  ASSERT_OK(third.status());
  EXPECT_EQ(JobIdToInt(*third), 3u);
}

TEST_F(GcsJobManagerTest, AddingAJobPublishesItRunning) {
  JobId id = JobIdFromInt(5);
  ASSERT_OK(Add(id));
  ASSERT_EQ(sink_->received.size(), 1u);
  EXPECT_EQ(sink_->received[0].job().state(), rpc::JobInfo::RUNNING);
  EXPECT_EQ(State(id), rpc::JobInfo::RUNNING);
}

TEST_F(GcsJobManagerTest, RefusesANilIdAndAnotherVersion) {
  EXPECT_THAT(Add(JobId::Nil()), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nil")));
  EXPECT_THAT(Add(JobIdFromInt(1), "0.0.1"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("0.0.1")));
}

TEST_F(GcsJobManagerTest, AFinishedJobStaysFinished) {
  JobId id = JobIdFromInt(7);
  ASSERT_OK(Add(id));
  jobs_.FinishJob(id, "its driver died");
  jobs_.FinishJob(id, "again");  // no second publication
  EXPECT_EQ(State(id), rpc::JobInfo::FINISHED);
  ASSERT_EQ(sink_->received.size(), 2u);
  EXPECT_EQ(sink_->received[1].job().state(), rpc::JobInfo::FINISHED);
  EXPECT_GT(sink_->received[1].job().end_time_ms(), 0);
  EXPECT_THAT(Add(id), StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already finished")));
}

TEST_F(GcsJobManagerTest, TheDeathOfTheDriversNodeEndsItsJobsOnly) {
  NodeId dying = NodeId::FromRandom();
  ASSERT_OK(Add(JobIdFromInt(1), ORRERY_VERSION_STRING, dying));
  ASSERT_OK(Add(JobIdFromInt(2)));
  jobs_.OnNodeDead(dying);
  EXPECT_EQ(State(JobIdFromInt(1)), rpc::JobInfo::FINISHED);
  EXPECT_EQ(State(JobIdFromInt(2)), rpc::JobInfo::RUNNING);
}

// Finished jobs are kept up to a bound, in memory and in storage, the oldest forgotten first;
// a restart keeps the same ones.
TEST_F(GcsJobManagerTest, KeepsTheLastFinishedJobsUpToItsBoundInStorageToo) {
  GcsJobManager bounded(env_.store, env_.publisher, /*max_finished_jobs=*/2);
  auto add = [&](uint32_t n) {
    rpc::AddJobRequest request;
    request.mutable_job()->set_job_id(JobIdFromInt(n).Binary());
    request.mutable_job()->set_version(ORRERY_VERSION_STRING);
    return env_
        .Call<rpc::AddJobRequest, rpc::AddJobReply>(
            [&](auto& q, auto* r, auto done) { bounded.HandleAddJob(q, r, done); }, request)
        .status();
  };
  for (uint32_t n = 1; n <= 4; ++n) ASSERT_OK(add(n));
  for (uint32_t n = 1; n <= 3; ++n) bounded.FinishJob(JobIdFromInt(n), "done");
  env_.RunUntil([&] { return bounded.num_jobs() == 3; });
  EXPECT_EQ(bounded.num_jobs(), 3u) << "jobs 2 and 3 finished, 4 running; job 1 forgotten";

  GcsJobManager restarted(env_.store, env_.publisher, /*max_finished_jobs=*/2);
  std::optional<absl::Status> loaded;
  restarted.Load([&](absl::Status s) { loaded = s; });
  env_.RunUntil([&] { return loaded.has_value(); });
  EXPECT_EQ(restarted.num_jobs(), 3u) << "the storage holds what memory held";
  rpc::GetJobRequest request;
  request.set_job_id(JobIdFromInt(1).Binary());
  EXPECT_THAT((env_.Call<rpc::GetJobRequest, rpc::GetJobReply>(
                  [&](auto& q, auto* r, auto done) { restarted.HandleGetJob(q, r, done); }, request))
                  .status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(GcsJobManagerTest, FinishingOrGettingAnUnknownJobIsNotFound) {
  rpc::MarkJobFinishedRequest finish;
  finish.set_job_id(JobIdFromInt(42).Binary());
  EXPECT_THAT((env_.Call<rpc::MarkJobFinishedRequest, rpc::MarkJobFinishedReply>(
                  [this](auto& q, auto* r, auto done) { jobs_.HandleMarkJobFinished(q, r, done); }, finish)),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("0000002a")));
}

}  // namespace
}  // namespace orrery::gcs
