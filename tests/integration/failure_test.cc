// What happens when processes die: a killed raylet is declared dead by health checks, a killed
// worker or driver is reported (to the GCS and to whoever held its lease), a dead driver ends
// its job, a raylet takes its workers with it, and a worker program that cannot start fails
// the lease with a clear error.
#include <signal.h>
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/common/clock.h"
#include "src/common/process.h"
#include "tests/integration/test_cluster.h"
#include "tests/integration/test_subscription.h"
#include "tests/testing/status_matchers.h"

namespace orrery::testing {
namespace {

using ::testing::HasSubstr;
using Stub = rpc::NodeManagerService::Stub;
using Reply = rpc::RequestWorkerLeaseReply;

class FailureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = TestCluster::Start();
    ASSERT_OK(cluster.status());
    cluster_ = std::move(*cluster);
  }

  Reply Lease(const JobId& job, const WorkerId& holder, const LeaseId& id = LeaseId::FromRandom(),
              size_t raylet = 0) {
    auto reply = cluster_->Raylet(raylet, &Stub::async::RequestWorkerLease, LeaseRequest(job, {{"CPU", 1}}, holder, 10'000, id),
                                  20'000);
    EXPECT_OK(reply.status());
    return reply.ok() ? *reply : Reply();
  }

  FixedPoint AvailableCpu(size_t raylet = 0) {
    auto stats = cluster_->Raylet(raylet, &Stub::async::GetNodeStats, rpc::GetNodeStatsRequest());
    if (!stats.ok()) return FixedPoint::FromInt(-1);
    auto it = stats->available().quantities().find("CPU");
    return FixedPoint::FromRaw(it == stats->available().quantities().end() ? 0 : it->second);
  }

  std::unique_ptr<TestCluster> cluster_;
};

TEST_F(FailureTest, HealthChecksDeclareAKilledRayletDeadWithinASecond) {
  auto second = cluster_->AddRaylet({});
  ASSERT_OK(second.status());
  NodeId victim = (*second)->node_id;
  Subscription nodes(cluster_->gcs_client(), rpc::NODE);
  ASSERT_TRUE(nodes.WaitFor([&](const rpc::PubsubMessage& m) { return m.snapshot_end(); }));

  int64_t killed_at = MonotonicMs();
  cluster_->KillRaylet(1, SIGKILL);
  auto death = nodes.WaitFor([&](const rpc::PubsubMessage& m) {
    return m.has_node() && m.node().node_id() == victim.Binary() && m.node().state() == rpc::NodeInfo::DEAD;
  });
  ASSERT_TRUE(death.has_value());
  // 100 ms period, dead after 3 misses: well under a second.
  EXPECT_LT(MonotonicMs() - killed_at, 1000);
  EXPECT_THAT(death->node().death_reason(), HasSubstr("missed 3 health checks"));
  // The other node lives on.
  auto nodes_now = cluster_->Gcs(&rpc::GcsService::Stub::async::GetAllNodes, rpc::GetAllNodesRequest());
  ASSERT_OK(nodes_now.status());
  ASSERT_EQ(nodes_now->nodes_size(), 1);
  EXPECT_EQ(nodes_now->nodes(0).node_id(), cluster_->raylet(0).node_id.Binary());
}

TEST_F(FailureTest, AKilledWorkerIsReportedToItsLeaseHolderAndItsResourcesReturn) {
  auto job = cluster_->CreateJob();
  ASSERT_OK(job.status());
  WorkerId holder = WorkerId::FromRandom();
  Subscription deaths(cluster_->gcs_client(), rpc::WORKER_DEATH, holder.Binary());
  ASSERT_TRUE(deaths.WaitFor([](const rpc::PubsubMessage& m) { return m.snapshot_end(); }));
  LeaseId lease = LeaseId::FromRandom();
  Reply granted = Lease(*job, holder, lease);
  ASSERT_EQ(granted.result(), Reply::GRANTED);
  EXPECT_EQ(AvailableCpu(), FixedPoint::FromInt(1));

  ASSERT_EQ(kill(granted.worker_pid(), SIGKILL), 0);
  auto death = deaths.WaitFor([](const rpc::PubsubMessage& m) { return m.has_worker_death(); });
  ASSERT_TRUE(death.has_value());
  const rpc::WorkerDeath& d = death->worker_death();
  EXPECT_EQ(d.worker_id(), granted.worker().worker_id());
  EXPECT_EQ(d.lease_id(), lease.Binary());
  EXPECT_EQ(d.lease_holder_id(), holder.Binary());
  EXPECT_EQ(d.exit_type(), rpc::UNEXPECTED_EXIT);
  EXPECT_THAT(d.detail(), HasSubstr("killed by signal 9"));
  EXPECT_TRUE(Eventually([&] { return AvailableCpu() == FixedPoint::FromInt(2); }));
  // The GCS keeps the report.
  auto failures = cluster_->Gcs(&rpc::GcsService::Stub::async::GetWorkerFailures, rpc::GetWorkerFailuresRequest());
  ASSERT_OK(failures.status());
  ASSERT_EQ(failures->deaths_size(), 1);
  EXPECT_EQ(failures->deaths(0).worker_id(), granted.worker().worker_id());
}

TEST_F(FailureTest, ADeadDriverEndsItsJobAndItsLeasedWorkers) {
  auto driver = cluster_->StartDriver();
  ASSERT_OK(driver.status());
  Reply granted = Lease(driver->job_id, driver->worker_id);
  ASSERT_EQ(granted.result(), Reply::GRANTED);
  auto worker_fd = OpenPidfd(granted.worker_pid());
  ASSERT_OK(worker_fd.status());
  Subscription deaths(cluster_->gcs_client(), rpc::WORKER_DEATH);
  ASSERT_TRUE(deaths.WaitFor([](const rpc::PubsubMessage& m) { return m.snapshot_end(); }));

  kill(driver->pid, SIGKILL);
  auto death = deaths.WaitFor([&](const rpc::PubsubMessage& m) {
    return m.has_worker_death() && m.worker_death().worker_id() == driver->worker_id.Binary();
  });
  ASSERT_TRUE(death.has_value());
  EXPECT_EQ(death->worker_death().worker_type(), rpc::DRIVER);
  EXPECT_EQ(death->worker_death().job_id(), driver->job_id.Binary());
  // The job is finished, and the worker it leased is ended with it.
  rpc::GetJobRequest get;
  get.set_job_id(driver->job_id.Binary());
  EXPECT_TRUE(Eventually([&] {
    auto job = cluster_->Gcs(&rpc::GcsService::Stub::async::GetJob, get);
    return job.ok() && job->job().state() == rpc::JobInfo::FINISHED;
  }));
  EXPECT_TRUE(WaitForExit(*worker_fd, 10'000));
  close(*worker_fd);
  EXPECT_TRUE(Eventually([&] { return AvailableCpu() == FixedPoint::FromInt(2); }));
  // A finished job gets no more leases.
  auto late = cluster_->Raylet(0, &Stub::async::RequestWorkerLease,
                               LeaseRequest(driver->job_id, {{"CPU", 1}}, driver->worker_id, 1000));
  EXPECT_THAT(late.status(), StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("has finished")));
}

TEST_F(FailureTest, ARayletTakesItsWorkersWithIt) {
  auto job = cluster_->CreateJob();
  ASSERT_OK(job.status());
  Reply granted = Lease(*job, WorkerId::FromRandom());
  ASSERT_EQ(granted.result(), Reply::GRANTED);
  auto worker_fd = OpenPidfd(granted.worker_pid());
  ASSERT_OK(worker_fd.status());
  cluster_->KillRaylet(0, SIGKILL);
  EXPECT_TRUE(WaitForExit(*worker_fd, 10'000));
  close(*worker_fd);
}

TEST_F(FailureTest, AWorkerProgramThatCannotStartFailsTheLeaseNamingItsLog) {
  auto job = cluster_->CreateJob({}, {"/bin/sh", "-c", "echo cannot start >&2; exit 3"});
  ASSERT_OK(job.status());
  auto reply = cluster_->Raylet(0, &Stub::async::RequestWorkerLease,
                                LeaseRequest(*job, {{"CPU", 1}}, WorkerId::FromRandom()), 20'000);
  EXPECT_THAT(reply.status(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("exited")));
  EXPECT_THAT(reply.status(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("zygote-")));
  // Its CPU is free again.
  EXPECT_EQ(AvailableCpu(), FixedPoint::FromInt(2));
}

TEST_F(FailureTest, AnUnknownJobIsRefused) {
  auto reply = cluster_->Raylet(0, &Stub::async::RequestWorkerLease,
                                LeaseRequest(JobIdFromInt(4242), {{"CPU", 1}}, WorkerId::FromRandom()));
  EXPECT_THAT(reply.status(), StatusIs(absl::StatusCode::kNotFound, HasSubstr("unknown job")));
}

}  // namespace
}  // namespace orrery::testing
