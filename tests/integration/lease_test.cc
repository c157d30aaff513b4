// Worker leases against a real raylet: granted, queued, cancelled, deduplicated on retry,
// returned and reused; workers forked from the job's zygote (or exec'd when it cannot fork).
#include <signal.h>

#include <algorithm>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orrery/core_worker.grpc.pb.h"
#include "src/rpc/grpc_client.h"
#include "tests/integration/test_cluster.h"
#include "tests/testing/status_matchers.h"

namespace orrery::testing {
namespace {

using Stub = rpc::NodeManagerService::Stub;
using Reply = rpc::RequestWorkerLeaseReply;

// Asks a leased worker who it is, over its own CoreWorkerService.
absl::StatusOr<rpc::GetWorkerInfoReply> AskWorker(const TestCluster& cluster, const rpc::WorkerAddress& address) {
  rpc::GrpcClient<rpc::CoreWorkerService> client(
      rpc::MakeChannel(address.ip() + ":" + std::to_string(address.port()), rpc::RpcOptions(), cluster.token()),
      rpc::ClientOptions{"worker", cluster.token(), rpc::RpcOptions()});
  return client.CallSync(&rpc::CoreWorkerService::Stub::async::GetWorkerInfo, rpc::GetWorkerInfoRequest());
}

class LeaseTest : public ::testing::Test {
 protected:
  void SetUp() override { StartCluster({}); }

  void StartCluster(const std::map<std::string, std::string>& job_env, ClusterOptions options = {}) {
    cluster_.reset();
    auto cluster = TestCluster::Start(std::move(options));
    ASSERT_OK(cluster.status());
    cluster_ = std::move(*cluster);
    auto job = cluster_->CreateJob(job_env);
    ASSERT_OK(job.status());
    job_ = *job;
  }

  absl::StatusOr<Reply> Lease(const rpc::RequestWorkerLeaseRequest& request) {
    return cluster_->Raylet(0, &Stub::async::RequestWorkerLease, request, request.wait_ms() + 5000);
  }

  // Requests a lease under `id` and expects it granted.
  Reply Granted(const LeaseId& id, double cpus = 1) {
    auto reply = Lease(LeaseRequest(job_, {{"CPU", cpus}}, holder_, 10'000, id));
    EXPECT_OK(reply.status());
    if (!reply.ok()) return Reply();
    EXPECT_EQ(reply->result(), Reply::GRANTED);
    return *reply;
  }

  absl::Status Return(const LeaseId& id) {
    rpc::ReturnWorkerRequest request;
    request.set_lease_id(id.Binary());
    return cluster_->Raylet(0, &Stub::async::ReturnWorker, request).status();
  }

  rpc::GetNodeStatsReply Stats() {
    auto stats = cluster_->Raylet(0, &Stub::async::GetNodeStats, rpc::GetNodeStatsRequest());
    EXPECT_OK(stats.status());
    return stats.ok() ? *stats : rpc::GetNodeStatsReply();
  }

  std::unique_ptr<TestCluster> cluster_;
  JobId job_;
  WorkerId holder_ = WorkerId::FromRandom();
};

TEST_F(LeaseTest, GrantsAWorkerForkedFromTheZygote) {
  Reply reply = Granted(LeaseId::FromRandom());
  EXPECT_GT(reply.worker_pid(), 0);
  auto info = AskWorker(*cluster_, reply.worker());
  ASSERT_OK(info.status());
  EXPECT_EQ(info->pid(), reply.worker_pid());
  EXPECT_EQ(info->worker_id(), reply.worker().worker_id());
  EXPECT_EQ(info->job_id(), job_.Binary());
  EXPECT_TRUE(info->forked_from_zygote());
  EXPECT_EQ(Stats().num_zygotes(), 1);
}

TEST_F(LeaseTest, EachWorkerSeesExactlyTheGpusItsLeaseHolds) {
  ClusterOptions options;
  options.head.num_gpus = -1;  // detected, from this fake CUDA_VISIBLE_DEVICES
  options.head.env = {{"CUDA_VISIBLE_DEVICES", "3,5"}};
  StartCluster({}, options);
  std::set<std::string> seen;
  for (int i = 0; i < 2; ++i) {
    auto reply = Lease(LeaseRequest(job_, {{"CPU", 1}, {"GPU", 1}}, holder_, 10'000));
    ASSERT_OK(reply.status());
    ASSERT_EQ(reply->result(), Reply::GRANTED);
    auto info = AskWorker(*cluster_, reply->worker());
    ASSERT_OK(info.status());
    seen.insert(info->runtime_env().at("CUDA_VISIBLE_DEVICES"));
  }
  EXPECT_EQ(seen, (std::set<std::string>{"3", "5"}));
  // Both GPUs are held: a third GPU lease waits.
  auto third = Lease(LeaseRequest(job_, {{"GPU", 1}}, holder_, 100));
  ASSERT_OK(third.status());
  EXPECT_EQ(third->result(), Reply::PENDING);
  EXPECT_FALSE(third->infeasible());
}

TEST_F(LeaseTest, RetriedRequestGetsTheSameGrantNotASecond) {
  LeaseId id = LeaseId::FromRandom();
  Reply first = Granted(id);
  Reply again = Granted(id);
  EXPECT_EQ(first.worker().worker_id(), again.worker().worker_id());
  rpc::GetNodeStatsReply stats = Stats();
  EXPECT_EQ(stats.leases_granted(), 1);
  EXPECT_EQ(stats.available().quantities().at("CPU"), FixedPoint::FromInt(1).raw());
}

TEST_F(LeaseTest, QueuesBeyondTheCpusAndGrantsWhenOneIsReturned) {
  LeaseId a = LeaseId::FromRandom(), b = LeaseId::FromRandom(), c = LeaseId::FromRandom();
  Reply first = Granted(a);
  Granted(b);

  // A third does not fit on 2 CPUs: it stays queued and the call answers PENDING.
  auto pending = Lease(LeaseRequest(job_, {{"CPU", 1}}, holder_, /*wait_ms=*/200, c));
  ASSERT_OK(pending.status());
  EXPECT_EQ(pending->result(), Reply::PENDING);
  EXPECT_FALSE(pending->infeasible());
  EXPECT_EQ(Stats().pending_leases(), 1);

  // Returning the first grants the third, with the returned (warm) worker.
  ASSERT_OK(Return(a));
  Reply third = Granted(c);
  EXPECT_EQ(third.worker().worker_id(), first.worker().worker_id());
  // A return retried after it was applied is a no-op.
  EXPECT_OK(Return(a));
  // The returned lease id is never granted again.
  auto late = Lease(LeaseRequest(job_, {{"CPU", 1}}, holder_, 200, a));
  ASSERT_OK(late.status());
  EXPECT_EQ(late->result(), Reply::CANCELED);
}

TEST_F(LeaseTest, CancelledRequestIsNeverGranted) {
  Granted(LeaseId::FromRandom());
  Granted(LeaseId::FromRandom());
  LeaseId queued = LeaseId::FromRandom();
  auto pending = Lease(LeaseRequest(job_, {{"CPU", 1}}, holder_, 100, queued));
  ASSERT_OK(pending.status());
  ASSERT_EQ(pending->result(), Reply::PENDING);

  rpc::CancelWorkerLeaseRequest cancel;
  cancel.set_lease_id(queued.Binary());
  auto cancelled = cluster_->Raylet(0, &Stub::async::CancelWorkerLease, cancel);
  ASSERT_OK(cancelled.status());
  EXPECT_TRUE(cancelled->canceled());
  EXPECT_EQ(Stats().pending_leases(), 0);
  // A retry of the request that arrives after the cancel is not queued again.
  auto retried = Lease(LeaseRequest(job_, {{"CPU", 1}}, holder_, 100, queued));
  ASSERT_OK(retried.status());
  EXPECT_EQ(retried->result(), Reply::CANCELED);
}

TEST_F(LeaseTest, CancellingAGrantedLeaseSaysItMustBeReturned) {
  LeaseId granted = LeaseId::FromRandom();
  Granted(granted);
  rpc::CancelWorkerLeaseRequest cancel;
  cancel.set_lease_id(granted.Binary());
  auto reply = cluster_->Raylet(0, &Stub::async::CancelWorkerLease, cancel);
  ASSERT_OK(reply.status());
  EXPECT_FALSE(reply->canceled());
  EXPECT_TRUE(reply->already_granted());
}

TEST_F(LeaseTest, InfeasibleRequestStaysPendingAsDemand) {
  auto reply = Lease(LeaseRequest(job_, {{"CPU", 64}}, holder_, 200));
  ASSERT_OK(reply.status());
  EXPECT_EQ(reply->result(), Reply::PENDING);
  EXPECT_TRUE(reply->infeasible());
  // The demand reaches the GCS, marked infeasible.
  EXPECT_TRUE(Eventually([&] {
    auto status = cluster_->Gcs(&rpc::GcsService::Stub::async::GetClusterStatus, rpc::GetClusterStatusRequest());
    if (!status.ok() || status->usage_size() != 1) return false;
    for (const auto& demand : status->usage(0).demands()) {
      if (demand.infeasible() && demand.count() == 1 &&
          demand.shape().quantities().at("CPU") == FixedPoint::FromInt(64).raw()) {
        return true;
      }
    }
    return false;
  }));
}

TEST_F(LeaseTest, IdleWorkersAreReusedNotRestarted) {
  LeaseId first = LeaseId::FromRandom();
  Granted(first);
  // The job's first lease warms one worker per CPU; wait until both have registered.
  ASSERT_TRUE(Eventually([&] {
    rpc::GetNodeStatsReply stats = Stats();
    return stats.workers_size() == 2 &&
           std::none_of(stats.workers().begin(), stats.workers().end(),
                        [](const rpc::WorkerStats& w) { return w.state() == rpc::WorkerStats::STARTING; });
  }));
  std::set<std::string> warm;
  rpc::GetNodeStatsReply before = Stats();
  for (const auto& worker : before.workers()) warm.insert(worker.worker_id());
  ASSERT_OK(Return(first));
  for (int i = 0; i < 5; ++i) {
    LeaseId id = LeaseId::FromRandom();
    Reply reply = Granted(id);
    EXPECT_TRUE(warm.contains(reply.worker().worker_id()));
    ASSERT_OK(Return(id));
  }
  EXPECT_EQ(Stats().workers_size(), 2);
}

TEST_F(LeaseTest, ExecsEachWorkerWhenTheProgramHasThreadsBeforeInit) {
  StartCluster({{"ORRERY_TEST_THREAD_BEFORE_INIT", "1"}});
  Reply reply = Granted(LeaseId::FromRandom());
  auto info = AskWorker(*cluster_, reply.worker());
  ASSERT_OK(info.status());
  EXPECT_FALSE(info->forked_from_zygote());
  EXPECT_EQ(Stats().num_zygotes(), 0);
}

}  // namespace
}  // namespace orrery::testing
