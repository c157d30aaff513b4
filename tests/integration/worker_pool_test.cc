// The raylet's worker pool with real processes: idle workers are reaped, task workers are
// capped at the node's CPUs (an idle worker of another job makes room), actor workers have their
// own cap, and a worker blocked in Get lends its CPU so that a nested task can run.
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/common/process.h"
#include "tests/integration/test_cluster.h"
#include "tests/testing/status_matchers.h"

namespace orrery::testing {
namespace {

using Stub = rpc::NodeManagerService::Stub;
using Reply = rpc::RequestWorkerLeaseReply;

class WorkerPoolTest : public ::testing::Test {
 protected:
  void Start(double cpus, std::vector<std::string> flags) {
    ClusterOptions options;
    options.head.num_cpus = cpus;
    options.head.extra_flags = std::move(flags);
    auto cluster = TestCluster::Start(options);
    ASSERT_OK(cluster.status());
    cluster_ = std::move(*cluster);
  }

  absl::StatusOr<Reply> Lease(const JobId& job, std::map<std::string, double> resources, const LeaseId& id,
                              bool actor = false, int64_t wait_ms = 10'000) {
    auto request = LeaseRequest(job, resources, holder_, wait_ms, id);
    request.mutable_lease()->set_is_actor_worker(actor);
    return cluster_->Raylet(0, &Stub::async::RequestWorkerLease, request, wait_ms + 10'000);
  }

  absl::Status Return(const LeaseId& id) {
    rpc::ReturnWorkerRequest request;
    request.set_lease_id(id.Binary());
    return cluster_->Raylet(0, &Stub::async::ReturnWorker, request).status();
  }

  // Waits until process `pid` has exited.
  bool Exits(pid_t pid, int64_t timeout_ms = 10'000) {
    auto fd = OpenPidfd(pid);
    if (!fd.ok()) return true;
    bool exited = WaitForExit(*fd, static_cast<int>(timeout_ms));
    close(*fd);
    return exited;
  }

  std::unique_ptr<TestCluster> cluster_;
  WorkerId holder_ = WorkerId::FromRandom();
};

TEST_F(WorkerPoolTest, IdleWorkersAreEndedAfterTheTimeoutAndThatIsNoFailure) {
  Start(2, {"--worker-idle-timeout-ms=200", "--prestart-workers=false"});
  auto job = cluster_->CreateJob();
  ASSERT_OK(job.status());
  LeaseId id = LeaseId::FromRandom();
  auto granted = Lease(*job, {{"CPU", 1}}, id);
  ASSERT_OK(granted.status());
  ASSERT_EQ(granted->result(), Reply::GRANTED);
  ASSERT_OK(Return(id));
  EXPECT_TRUE(Exits(granted->worker_pid()));
  auto failures = cluster_->Gcs(&rpc::GcsService::Stub::async::GetWorkerFailures, rpc::GetWorkerFailuresRequest());
  ASSERT_OK(failures.status());
  EXPECT_EQ(failures->deaths_size(), 0);
}

TEST_F(WorkerPoolTest, TaskWorkersAreCappedAtTheCpusAndAnIdleOneMakesRoom) {
  Start(1, {"--prestart-workers=false"});
  auto job_a = cluster_->CreateJob();
  auto job_b = cluster_->CreateJob();
  ASSERT_OK(job_a.status());
  ASSERT_OK(job_b.status());
  LeaseId a = LeaseId::FromRandom();
  auto first = Lease(*job_a, {{"CPU", 1}}, a);
  ASSERT_OK(first.status());
  ASSERT_EQ(first->result(), Reply::GRANTED);
  ASSERT_OK(Return(a));
  // Job B needs its own worker; the node has room for one task worker, held by idle A.
  auto second = Lease(*job_b, {{"CPU", 1}}, LeaseId::FromRandom());
  ASSERT_OK(second.status());
  ASSERT_EQ(second->result(), Reply::GRANTED);
  EXPECT_NE(second->worker_pid(), first->worker_pid());
  EXPECT_TRUE(Exits(first->worker_pid()));
}

TEST_F(WorkerPoolTest, ActorWorkersHoldNoCpuAndHaveTheirOwnCap) {
  Start(1, {"--max-actor-workers=2", "--prestart-workers=false"});
  auto job = cluster_->CreateJob();
  ASSERT_OK(job.status());
  LeaseId one = LeaseId::FromRandom();
  auto a = Lease(*job, {}, one, /*actor=*/true);
  auto b = Lease(*job, {}, LeaseId::FromRandom(), /*actor=*/true);
  ASSERT_OK(a.status());
  ASSERT_OK(b.status());
  EXPECT_EQ(a->result(), Reply::GRANTED);
  EXPECT_EQ(b->result(), Reply::GRANTED);
  // Two actor workers on a one-CPU node, and the CPU is still free for a task.
  auto task = Lease(*job, {{"CPU", 1}}, LeaseId::FromRandom());
  ASSERT_OK(task.status());
  EXPECT_EQ(task->result(), Reply::GRANTED);
  // A third actor worker waits for one of the two.
  LeaseId third = LeaseId::FromRandom();
  auto waiting = Lease(*job, {}, third, /*actor=*/true, /*wait_ms=*/300);
  ASSERT_OK(waiting.status());
  EXPECT_EQ(waiting->result(), Reply::PENDING);
  ASSERT_OK(Return(one));
  auto now = Lease(*job, {}, third, /*actor=*/true);
  ASSERT_OK(now.status());
  EXPECT_EQ(now->result(), Reply::GRANTED);
}

TEST_F(WorkerPoolTest, ABlockedWorkerLendsItsCpuToANestedTask) {
  Start(1, {"--prestart-workers=false"});
  auto job = cluster_->CreateJob();
  ASSERT_OK(job.status());
  auto outer = Lease(*job, {{"CPU", 1}}, LeaseId::FromRandom());
  ASSERT_OK(outer.status());
  ASSERT_EQ(outer->result(), Reply::GRANTED);
  LeaseId nested = LeaseId::FromRandom();
  auto waiting = Lease(*job, {{"CPU", 1}}, nested, false, /*wait_ms=*/200);
  ASSERT_OK(waiting.status());
  ASSERT_EQ(waiting->result(), Reply::PENDING);

  rpc::NotifyWorkerBlockedRequest block;
  block.set_worker_id(outer->worker().worker_id());
  block.set_blocked(true);
  ASSERT_OK(cluster_->Raylet(0, &Stub::async::NotifyWorkerBlocked, block).status());
  auto granted = Lease(*job, {{"CPU", 1}}, nested);
  ASSERT_OK(granted.status());
  EXPECT_EQ(granted->result(), Reply::GRANTED);
  EXPECT_NE(granted->worker_pid(), outer->worker_pid());

  block.set_blocked(false);
  ASSERT_OK(cluster_->Raylet(0, &Stub::async::NotifyWorkerBlocked, block).status());
  auto stats = cluster_->Raylet(0, &Stub::async::GetNodeStats, rpc::GetNodeStatsRequest());
  ASSERT_OK(stats.status());
  // Over-committed until one of them finishes: nothing else is granted meanwhile.
  EXPECT_FALSE(stats->available().quantities().contains("CPU") &&
               stats->available().quantities().at("CPU") > 0);
}

}  // namespace
}  // namespace orrery::testing
