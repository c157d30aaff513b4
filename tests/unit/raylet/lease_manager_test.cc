// Leases on one node with a fake worker pool: queueing by resources, idempotent requests,
// PENDING answers, cancel and return, spillback and infeasible demand, lending a blocked
// worker's CPU, and what a worker's or holder's death does.
#include "src/raylet/lease_manager.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/raylet/fake_worker_provider.h"
#include "tests/testing/status_matchers.h"

namespace orrery::raylet {
namespace {

using ::testing::HasSubstr;
using Reply = rpc::RequestWorkerLeaseReply;
using testing::StatusIs;

struct Answer {
  std::optional<absl::Status> status;
  Reply reply;
  bool done() const { return status.has_value(); }
};

class LeaseManagerTest : public ::testing::Test {
 protected:
  LeaseManagerTest() : resources_(ResourceSet::FromDoubles({{"CPU", 2}, {"GPU", 2}}).value()), pool_(io_) {}

  void SetUp() override { Build({}); }

  void Build(std::vector<std::string> gpu_names) {
    LeaseManager::Options options;
    options.node_id = self_;
    options.node_ip = "10.0.0.5";
    options.gpu_names = std::move(gpu_names);
    options.abandon_after_ms = abandon_after_ms_;
    if (check_holders_) {
      options.check_holders_every_ms = 1;
      options.unreachable_checks_before_gone = 2;
      options.check_holder = [this](const rpc::WorkerAddress& holder, std::vector<LeaseId> leases,
                                    LeaseManager::Options::NotHeld done) {
        WorkerId id = WorkerId::FromBinary(holder.worker_id()).value();
        holder_checks_.push_back({id, std::move(leases), std::move(done)});
      };
    }
    options.ask_to_yield = [this](const rpc::WorkerAddress& holder, std::vector<LeaseId> leases) {
      yield_asks_.emplace_back(WorkerId::FromBinary(holder.worker_id()).value(), std::move(leases));
    };
    leases_ = std::make_unique<LeaseManager>(io_, options, resources_, pool_, cluster_,
                                             [this](const JobId& job, std::function<void(absl::Status)> done) {
                                               done(job == unknown_job_ ? absl::NotFoundError("unknown job")
                                                                        : absl::OkStatus());
                                             });
  }

  rpc::RequestWorkerLeaseRequest Request(std::unordered_map<std::string, double> resources, const LeaseId& id,
                                         int64_t wait_ms = 60'000, const WorkerId& holder = WorkerId()) {
    rpc::RequestWorkerLeaseRequest request;
    request.mutable_lease()->set_lease_id(id.Binary());
    request.mutable_lease()->set_job_id(job_.Binary());
    ResourceSet::FromDoubles(resources).value().ToProto(request.mutable_lease()->mutable_resources());
    request.mutable_lease()->mutable_holder()->set_worker_id((holder.IsNil() ? holder_ : holder).Binary());
    request.mutable_lease()->mutable_holder()->set_ip("10.0.0.9");
    request.mutable_lease()->mutable_holder()->set_port(7000);
    request.set_wait_ms(wait_ms);
    return request;
  }

  // Another node joins the cluster view.
  NodeId AddNode(const std::string& ip, int port, double cpus) {
    rpc::NodeInfo node;
    NodeId id = NodeId::FromRandom();
    node.set_node_id(id.Binary());
    node.set_node_ip(ip);
    node.set_node_manager_port(port);
    ResourceSet::FromDoubles({{"CPU", cpus}}).value().ToProto(node.mutable_total_resources());
    cluster_.Update(node);
    return id;
  }

  std::shared_ptr<Answer> Ask(const rpc::RequestWorkerLeaseRequest& request) {
    auto answer = std::make_shared<Answer>();
    leases_->RequestLease(request, &answer->reply, [answer](absl::Status s) { answer->status = s; });
    return answer;
  }

  absl::Status Return(const LeaseId& id, bool kill = false) {
    rpc::ReturnWorkerRequest request;
    request.set_lease_id(id.Binary());
    request.set_kill_worker(kill);
    rpc::ReturnWorkerReply reply;
    std::optional<absl::Status> status;
    leases_->ReturnWorker(request, &reply, [&](absl::Status s) { status = s; });
    return status.value_or(absl::UnknownError("no answer"));
  }

  rpc::CancelWorkerLeaseReply Cancel(const LeaseId& id) {
    rpc::CancelWorkerLeaseRequest request;
    request.set_lease_id(id.Binary());
    rpc::CancelWorkerLeaseReply reply;
    leases_->CancelLease(request, &reply, [](absl::Status) {});
    return reply;
  }

  boost::asio::io_context io_;
  NodeResources resources_;
  FakeWorkerProvider pool_;
  ClusterView cluster_;
  std::unique_ptr<LeaseManager> leases_;
  int64_t abandon_after_ms_ = 120'000;
  // Holders are asked about their leases (every sweep, a second apart) only when set.
  bool check_holders_ = false;
  struct HolderCheck {
    WorkerId holder;
    std::vector<LeaseId> leases;
    LeaseManager::Options::NotHeld done;
  };
  std::vector<HolderCheck> holder_checks_;
  // Runs the loop until the next holder check (sweeps run every second).
  HolderCheck AwaitHolderCheck() {
    size_t seen = holder_checks_.size();
    for (int i = 0; i < 300 && holder_checks_.size() == seen; ++i) io_.run_one_for(std::chrono::milliseconds(10));
    EXPECT_GT(holder_checks_.size(), seen) << "no holder was asked";
    return holder_checks_.size() > seen ? holder_checks_.back() : HolderCheck{};
  }
  NodeId self_ = NodeId::FromRandom();
  JobId job_ = JobIdFromInt(1);
  JobId unknown_job_ = JobIdFromInt(99);
  WorkerId holder_ = WorkerId::FromRandom();
  // Holders asked to give back idle leases, in order.
  std::vector<std::pair<WorkerId, std::vector<LeaseId>>> yield_asks_;
};

TEST_F(LeaseManagerTest, GrantsOnceAWorkerIsReadyWithItsAddress) {
  auto answer = Ask(Request({{"CPU", 1}}, LeaseId::FromRandom()));
  EXPECT_FALSE(answer->done());
  ASSERT_EQ(pool_.pops.size(), 1u);
  EXPECT_EQ(pool_.pops[0].key.job_id, job_);
  auto worker = pool_.AnswerPop(/*pid=*/4321);
  ASSERT_TRUE(answer->done());
  ASSERT_OK(*answer->status);
  EXPECT_EQ(answer->reply.result(), Reply::GRANTED);
  EXPECT_EQ(answer->reply.worker().worker_id(), worker->id.Binary());
  EXPECT_EQ(answer->reply.worker().ip(), "10.0.0.5");
  EXPECT_EQ(answer->reply.worker().node_id(), self_.Binary());
  EXPECT_EQ(answer->reply.worker_pid(), 4321);
  EXPECT_EQ(resources_.available().Get(kCpu), FixedPoint::FromInt(1));
}

// A requester that stops asking leaves nothing behind: its queued request, or a grant made
// while none of its calls was open, goes once the sweep finds it abandoned. A grant it received
// is its own for as long as it holds it: a long task, or an actor's whole life.
TEST_F(LeaseManagerTest, OnlyRequestsAndGrantsNobodyClaimedAreAbandoned) {
  abandon_after_ms_ = 1;
  Build({});
  leases_->Start();
  LeaseId held = LeaseId::FromRandom(), waiting = LeaseId::FromRandom(), unclaimed = LeaseId::FromRandom();
  auto granted = Ask(Request({{"CPU", 1}}, held));
  pool_.AnswerPop();
  ASSERT_EQ(granted->reply.result(), Reply::GRANTED);
  // Answered PENDING after 1 ms while its worker starts, then granted with no call open.
  auto late = Ask(Request({{"CPU", 1}}, unclaimed, /*wait_ms=*/1));
  // Answered PENDING after 1 ms, as there is no CPU left for it; never asked again.
  auto queued = Ask(Request({{"CPU", 1}}, waiting, /*wait_ms=*/1));
  for (int i = 0; i < 100 && !(late->done() && queued->done()); ++i) io_.run_one_for(std::chrono::milliseconds(10));
  ASSERT_EQ(late->reply.result(), Reply::PENDING);
  ASSERT_EQ(queued->reply.result(), Reply::PENDING);
  auto never_told = pool_.AnswerPop();
  // Sweeps run every second.
  io_.run_for(std::chrono::milliseconds(2500));
  EXPECT_EQ(leases_->num_pending(), 0);
  ASSERT_EQ(pool_.pushed.size(), 1u);
  EXPECT_EQ(pool_.pushed[0], never_told);
  // The held lease keeps its worker and its CPU; and the holder may still return it.
  EXPECT_EQ(resources_.available().Get(kCpu), FixedPoint::FromInt(1));
  ASSERT_OK(Return(held));
  EXPECT_EQ(pool_.pushed.size(), 2u);
  leases_->Stop();
}

// A grant whose every reply was lost (its requester gave up and went elsewhere) would hold its
// worker and CPU for good. The raylet asks each holder which of its task leases it holds: those
// it does not go back to the pool; a holder unreachable check after check is taken for gone.
TEST_F(LeaseManagerTest, LeasesTheirHolderDoesNotHoldAreTakenBack) {
  check_holders_ = true;
  Build({});
  leases_->Start();
  LeaseId used = LeaseId::FromRandom(), lost = LeaseId::FromRandom();
  Ask(Request({{"CPU", 1}}, used));
  Ask(Request({{"CPU", 1}}, lost));
  auto used_worker = pool_.AnswerPop();
  auto lost_worker = pool_.AnswerPop();
  // A request that waits for a CPU: granted once the lost grant is taken back.
  auto waiting = Ask(Request({{"CPU", 1}}, LeaseId::FromRandom()));
  HolderCheck check = AwaitHolderCheck();
  EXPECT_EQ(check.holder, holder_);
  EXPECT_THAT(check.leases, ::testing::UnorderedElementsAre(used, lost));
  check.done(std::vector<LeaseId>{lost});
  ASSERT_EQ(pool_.killed.size(), 1u);
  EXPECT_EQ(pool_.killed[0], lost_worker);
  ASSERT_EQ(pool_.pops.size(), 1u);  // the waiting request gets the CPU
  pool_.AnswerPop();
  EXPECT_EQ(waiting->reply.result(), Reply::GRANTED);
  // A holder that cannot be reached: twice in a row (as set here) and its leases end.
  AwaitHolderCheck().done(absl::UnavailableError("connection refused"));
  EXPECT_EQ(pool_.killed.size(), 1u);
  AwaitHolderCheck().done(absl::UnavailableError("connection refused"));
  ASSERT_EQ(pool_.killed.size(), 3u);
  EXPECT_THAT(pool_.killed, ::testing::Contains(used_worker));
  EXPECT_EQ(leases_->num_granted(), 0);
  leases_->Stop();
}

TEST_F(LeaseManagerTest, QueuesUntilResourcesAreReturned) {
  LeaseId a = LeaseId::FromRandom(), b = LeaseId::FromRandom(), c = LeaseId::FromRandom();
  Ask(Request({{"CPU", 1}}, a));
  Ask(Request({{"CPU", 1}}, b));
  auto third = Ask(Request({{"CPU", 1}}, c));
  EXPECT_EQ(pool_.pops.size(), 2u);  // the third waits for a CPU, not for a worker
  pool_.AnswerPop();
  pool_.AnswerPop();
  EXPECT_EQ(leases_->num_pending(), 1);
  ASSERT_OK(Return(a));
  ASSERT_EQ(pool_.pushed.size(), 1u);
  ASSERT_EQ(pool_.pops.size(), 1u);
  pool_.AnswerPop();
  EXPECT_EQ(third->reply.result(), Reply::GRANTED);
}

TEST_F(LeaseManagerTest, AnOpenRequestIsAnsweredPendingWhenItsWaitEnds) {
  Ask(Request({{"CPU", 2}}, LeaseId::FromRandom()));
  pool_.AnswerPop();
  auto waiting = Ask(Request({{"CPU", 1}}, LeaseId::FromRandom(), /*wait_ms=*/1));
  for (int i = 0; i < 100 && !waiting->done(); ++i) io_.run_one_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(waiting->done());
  EXPECT_EQ(waiting->reply.result(), Reply::PENDING);
  EXPECT_FALSE(waiting->reply.infeasible());
  EXPECT_EQ(leases_->num_pending(), 1);  // still queued
}

TEST_F(LeaseManagerTest, ARepeatedRequestNeverGrantsTwice) {
  LeaseId id = LeaseId::FromRandom();
  auto first = Ask(Request({{"CPU", 1}}, id));
  auto repeat = Ask(Request({{"CPU", 1}}, id));
  // The older call is answered PENDING; the newer one waits for the grant.
  ASSERT_TRUE(first->done());
  EXPECT_EQ(first->reply.result(), Reply::PENDING);
  ASSERT_EQ(pool_.pops.size(), 1u);
  auto worker = pool_.AnswerPop();
  EXPECT_EQ(repeat->reply.result(), Reply::GRANTED);
  auto after = Ask(Request({{"CPU", 1}}, id));
  EXPECT_EQ(after->reply.worker().worker_id(), worker->id.Binary());
  EXPECT_EQ(pool_.pops.size(), 0u);
  EXPECT_EQ(leases_->total_granted(), 1);
  ASSERT_OK(Return(id));
  ASSERT_OK(Return(id));  // a retried return
  EXPECT_EQ(Ask(Request({{"CPU", 1}}, id))->reply.result(), Reply::CANCELED);
}

TEST_F(LeaseManagerTest, CancellingBeforeTheWorkerArrivesReturnsItToThePool) {
  LeaseId id = LeaseId::FromRandom();
  auto answer = Ask(Request({{"CPU", 1}}, id));
  EXPECT_TRUE(Cancel(id).canceled());
  EXPECT_EQ(answer->reply.result(), Reply::CANCELED);
  EXPECT_EQ(resources_.available().Get(kCpu), FixedPoint::FromInt(2));
  pool_.AnswerPop();
  EXPECT_EQ(pool_.pushed.size(), 1u);
  EXPECT_TRUE(Cancel(id).canceled());  // a retried cancel
  EXPECT_FALSE(Cancel(LeaseId::FromRandom()).canceled());
}

TEST_F(LeaseManagerTest, AWorkerThatCannotStartFailsTheRequestAndFreesItsResources) {
  auto answer = Ask(Request({{"CPU", 1}}, LeaseId::FromRandom()));
  pool_.FailPop(absl::UnavailableError("worker exited (exit code 3); see worker-1.err"));
  ASSERT_TRUE(answer->done());
  EXPECT_THAT(*answer->status, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("worker-1.err")));
  EXPECT_EQ(resources_.available().Get(kCpu), FixedPoint::FromInt(2));
}

TEST_F(LeaseManagerTest, SpillsBackToANodeThatCouldHoldItElseStaysInfeasible) {
  auto infeasible = Ask(Request({{"CPU", 8}}, LeaseId::FromRandom(), /*wait_ms=*/1));
  for (int i = 0; i < 100 && !infeasible->done(); ++i) io_.run_one_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(infeasible->done());
  EXPECT_EQ(infeasible->reply.result(), Reply::PENDING);
  EXPECT_TRUE(infeasible->reply.infeasible());
  auto demands = leases_->Demands();
  ASSERT_EQ(demands.size(), 1u);
  EXPECT_TRUE(demands[0].infeasible());
  EXPECT_EQ(demands[0].count(), 1);

  NodeId big_id = AddNode("10.0.0.9", 7000, 16);
  auto spilled = Ask(Request({{"CPU", 8}}, LeaseId::FromRandom()));
  ASSERT_TRUE(spilled->done());
  EXPECT_EQ(spilled->reply.result(), Reply::SPILLBACK);
  EXPECT_EQ(spilled->reply.spillback_node().node_id(), big_id.Binary());
  EXPECT_EQ(spilled->reply.spillback_node().port(), 7000);
}

TEST_F(LeaseManagerTest, AboveTheSpreadThresholdABusyNodeSpillsToOneWithRoomButNeverTwice) {
  NodeId idle_id = AddNode("10.0.0.7", 7100, 2);

  Ask(Request({{"CPU", 1}}, LeaseId::FromRandom()));  // 50% used: at the threshold
  pool_.AnswerPop();
  auto spilled = Ask(Request({{"CPU", 1}}, LeaseId::FromRandom()));
  ASSERT_TRUE(spilled->done());
  EXPECT_EQ(spilled->reply.result(), Reply::SPILLBACK);
  EXPECT_EQ(spilled->reply.spillback_node().node_id(), idle_id.Binary());
  EXPECT_EQ(spilled->reply.spillback_node().port(), 7100);

  // A request another raylet already sent here is granted here, though the idle node has room.
  auto request = Request({{"CPU", 1}}, LeaseId::FromRandom());
  request.mutable_lease()->set_spilled_back(true);
  auto kept = Ask(request);
  ASSERT_EQ(pool_.pops.size(), 1u);
  pool_.AnswerPop();
  ASSERT_TRUE(kept->done());
  EXPECT_EQ(kept->reply.result(), Reply::GRANTED);
}

TEST_F(LeaseManagerTest, NodeAffinitySendsToTheNamedNodeAndFailsForAnUnknownOneUnlessSoft) {
  NodeId named_id = AddNode("10.0.0.8", 7200, 1);
  auto pinned = [&](const NodeId& node, bool soft) {
    auto request = Request({{"CPU", 1}}, LeaseId::FromRandom());
    rpc::SchedulingStrategy* strategy = request.mutable_lease()->mutable_strategy();
    strategy->set_kind(rpc::SchedulingStrategy::NODE_AFFINITY);
    strategy->set_node_id(node.Binary());
    strategy->set_soft(soft);
    return request;
  };

  // This node is idle, but the request names the other one.
  auto sent = Ask(pinned(named_id, false));
  ASSERT_TRUE(sent->done());
  EXPECT_EQ(sent->reply.result(), Reply::SPILLBACK);
  EXPECT_EQ(sent->reply.spillback_node().node_id(), named_id.Binary());

  NodeId gone = NodeId::FromRandom();
  auto failed = Ask(pinned(gone, false));
  ASSERT_TRUE(failed->done());
  EXPECT_TRUE(failed->status->ok()) << *failed->status;
  EXPECT_EQ(failed->reply.result(), Reply::UNSCHEDULABLE);
  EXPECT_THAT(failed->reply.failure_message(), HasSubstr(gone.Hex()));

  auto soft = Ask(pinned(gone, true));  // placed as by default: here
  ASSERT_EQ(pool_.pops.size(), 1u);
  pool_.AnswerPop();
  EXPECT_EQ(soft->reply.result(), Reply::GRANTED);

  // A hard affinity to a node that can never hold the demand waits as infeasible.
  auto big = pinned(named_id, false);
  ResourceSet::FromDoubles({{"CPU", 2}}).value().ToProto(big.mutable_lease()->mutable_resources());
  big.set_wait_ms(1);
  auto waiting = Ask(big);
  for (int i = 0; i < 100 && !waiting->done(); ++i) io_.run_one_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(waiting->done());
  EXPECT_EQ(waiting->reply.result(), Reply::PENDING);
  EXPECT_TRUE(waiting->reply.infeasible());
}

TEST_F(LeaseManagerTest, ABlockedWorkerLendsItsCpuUntilItUnblocks) {
  LeaseId first = LeaseId::FromRandom();
  Ask(Request({{"CPU", 2}}, first));
  auto worker = pool_.AnswerPop();
  auto nested = Ask(Request({{"CPU", 1}}, LeaseId::FromRandom()));
  EXPECT_TRUE(pool_.pops.empty());
  ASSERT_OK(leases_->SetBlocked(worker->id, true));
  EXPECT_EQ(pool_.lent_cpus, 2);
  ASSERT_EQ(pool_.pops.size(), 1u);  // the nested request now runs
  pool_.AnswerPop();
  EXPECT_EQ(nested->reply.result(), Reply::GRANTED);
  ASSERT_OK(leases_->SetBlocked(worker->id, false));
  EXPECT_EQ(pool_.lent_cpus, 0);
  EXPECT_EQ(resources_.available().Get(kCpu), FixedPoint::FromInt(-1));  // over-committed until one ends
  EXPECT_THAT(leases_->SetBlocked(WorkerId::FromRandom(), true), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(LeaseManagerTest, ARequestWaitingForCpusAsksTheirOtherHoldersOnceToYieldThemWhenIdle) {
  WorkerId other = WorkerId::FromRandom();
  LeaseId mine = LeaseId::FromRandom(), theirs = LeaseId::FromRandom();
  Ask(Request({{"CPU", 1}}, mine));
  pool_.AnswerPop();
  Ask(Request({{"CPU", 1}}, theirs, 60'000, other));
  pool_.AnswerPop();
  EXPECT_TRUE(yield_asks_.empty());  // nothing waited
  // My request of the same shape waits: I would run its tasks on my own lease if it were idle,
  // so only the other holder is asked.
  auto waiting = Ask(Request({{"CPU", 1}}, LeaseId::FromRandom()));
  ASSERT_EQ(yield_asks_.size(), 1u);
  EXPECT_EQ(yield_asks_[0].first, other);
  EXPECT_THAT(yield_asks_[0].second, ::testing::ElementsAre(theirs));
  // Each lease is asked about once.
  Ask(Request({{"CPU", 1}}, LeaseId::FromRandom()));
  EXPECT_EQ(yield_asks_.size(), 1u);
  // A request of mine of another shape counts against my own lease too.
  Ask(Request({{"CPU", 0.5}}, LeaseId::FromRandom()));
  ASSERT_EQ(yield_asks_.size(), 2u);
  EXPECT_EQ(yield_asks_[1].first, holder_);
  EXPECT_THAT(yield_asks_[1].second, ::testing::ElementsAre(mine));
  // The other holder gives its lease back: the first waiting request gets it.
  ASSERT_OK(Return(theirs));
  pool_.AnswerPop();
  EXPECT_EQ(waiting->reply.result(), Reply::GRANTED);
}

// A request queued earlier by an owner that no longer needs it takes the freed CPUs: its holder
// is asked as soon as the lease is granted, or it would sit idle while others wait.
TEST_F(LeaseManagerTest, ALeaseGrantedWhileAnotherRequestWaitsIsAskedBackAtOnce) {
  WorkerId first = WorkerId::FromRandom(), stale = WorkerId::FromRandom();
  LeaseId held = LeaseId::FromRandom(), late = LeaseId::FromRandom();
  Ask(Request({{"CPU", 2}}, held, 60'000, first));
  pool_.AnswerPop();
  Ask(Request({{"CPU", 2}}, late, 60'000, stale));
  auto mine = Ask(Request({{"CPU", 1}}, LeaseId::FromRandom()));
  ASSERT_EQ(yield_asks_.size(), 1u);
  ASSERT_OK(Return(held));
  pool_.AnswerPop();  // the earlier request is granted first
  EXPECT_FALSE(mine->done());
  ASSERT_EQ(yield_asks_.size(), 2u);
  EXPECT_EQ(yield_asks_[1].first, stale);
  EXPECT_THAT(yield_asks_[1].second, ::testing::ElementsAre(late));
}

TEST_F(LeaseManagerTest, OnlyHoldersOfWhatARequestWaitsForAreAskedToYield) {
  WorkerId cpu_holder = WorkerId::FromRandom(), gpu_holder = WorkerId::FromRandom();
  Ask(Request({{"CPU", 1}}, LeaseId::FromRandom(), 60'000, cpu_holder));
  pool_.AnswerPop();
  LeaseId gpus = LeaseId::FromRandom();
  Ask(Request({{"CPU", 0.5}, {"GPU", 2}}, gpus, 60'000, gpu_holder));
  pool_.AnswerPop();
  Ask(Request({{"GPU", 1}}, LeaseId::FromRandom()));
  ASSERT_EQ(yield_asks_.size(), 1u);
  EXPECT_EQ(yield_asks_[0].first, gpu_holder);
  EXPECT_THAT(yield_asks_[0].second, ::testing::ElementsAre(gpus));
}

TEST_F(LeaseManagerTest, AWorkersDeathEndsItsLease) {
  LeaseId id = LeaseId::FromRandom();
  Ask(Request({{"CPU", 2}}, id));
  auto worker = pool_.AnswerPop();
  leases_->OnWorkerDied(worker);
  EXPECT_EQ(leases_->num_granted(), 0);
  EXPECT_EQ(resources_.available().Get(kCpu), FixedPoint::FromInt(2));
  EXPECT_EQ(Ask(Request({{"CPU", 1}}, id))->reply.result(), Reply::CANCELED);
}

TEST_F(LeaseManagerTest, AHoldersDeathEndsItsWorkersAndDropsItsRequests) {
  WorkerId owner = WorkerId::FromRandom();
  Ask(Request({{"CPU", 2}}, LeaseId::FromRandom(), 60'000, owner));
  auto worker = pool_.AnswerPop();
  auto queued = Ask(Request({{"CPU", 1}}, LeaseId::FromRandom(), 60'000, owner));
  auto others = Ask(Request({{"CPU", 1}}, LeaseId::FromRandom()));
  leases_->OnHolderDied(owner);
  ASSERT_EQ(pool_.killed.size(), 1u);
  EXPECT_EQ(pool_.killed[0], worker);
  EXPECT_EQ(queued->reply.result(), Reply::CANCELED);
  EXPECT_FALSE(others->done());
  EXPECT_EQ(pool_.pops.size(), 1u);  // the other holder's request goes ahead
}

TEST_F(LeaseManagerTest, AGpuLeasesWorkerKeyNamesItsDevices) {
  Build({"3", "5"});
  Ask(Request({{"GPU", 1}}, LeaseId::FromRandom()));
  ASSERT_EQ(pool_.pops.size(), 1u);
  EXPECT_TRUE(pool_.pops[0].key.gpu_ids == "3" || pool_.pops[0].key.gpu_ids == "5");
  Ask(Request({{"GPU", 1}}, LeaseId::FromRandom()));
  ASSERT_EQ(pool_.pops.size(), 2u);
  EXPECT_NE(pool_.pops[0].key.gpu_ids, pool_.pops[1].key.gpu_ids);
  auto answer = Ask(Request({{"CPU", 1}}, LeaseId::FromRandom()));
  EXPECT_EQ(pool_.pops[2].key.gpu_ids, "");
}

TEST_F(LeaseManagerTest, RefusesUnknownJobsAndMalformedRequests) {
  rpc::RequestWorkerLeaseRequest unknown = Request({{"CPU", 1}}, LeaseId::FromRandom());
  unknown.mutable_lease()->set_job_id(unknown_job_.Binary());
  EXPECT_THAT(*Ask(unknown)->status, StatusIs(absl::StatusCode::kNotFound));
  rpc::RequestWorkerLeaseRequest nil_id = Request({{"CPU", 1}}, LeaseId::Nil());
  EXPECT_THAT(*Ask(nil_id)->status, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nil")));
  rpc::RequestWorkerLeaseRequest no_holder = Request({{"CPU", 1}}, LeaseId::FromRandom());
  no_holder.mutable_lease()->mutable_holder()->clear_worker_id();
  EXPECT_THAT(*Ask(no_holder)->status, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("holder")));
  EXPECT_TRUE(pool_.pops.empty());
}

TEST_F(LeaseManagerTest, StoppingAnswersEveryOpenRequest) {
  auto open = Ask(Request({{"CPU", 8}}, LeaseId::FromRandom()));
  leases_->Stop();
  ASSERT_TRUE(open->done());
  EXPECT_THAT(*open->status, StatusIs(absl::StatusCode::kUnavailable));
}

// The memory monitor's victim: the newest task lease of the holder with the most task leases
// here; an actor's worker only when no task is left; never one being ended already.
TEST_F(LeaseManagerTest, TheWorkerToKillForMemoryIsTheNewestTaskOfTheBusiestHolder) {
  EXPECT_EQ(leases_->PickWorkerToKillForMemory(), nullptr) << "nothing runs";
  auto grant = [&](const WorkerId& holder, bool actor) {
    rpc::RequestWorkerLeaseRequest request = Request({{"CPU", 0.25}}, LeaseId::FromRandom(), 60'000, holder);
    request.mutable_lease()->set_is_actor_worker(actor);
    auto answer = Ask(request);
    std::shared_ptr<Worker> worker = pool_.AnswerPop();
    EXPECT_TRUE(answer->done() && answer->reply.result() == Reply::GRANTED);
    return std::make_pair(LeaseId::FromBinary(request.lease().lease_id()).value(), worker);
  };
  WorkerId busy = WorkerId::FromRandom(), other = WorkerId::FromRandom(), gcs = WorkerId::FromRandom();
  auto [actor_lease, actor] = grant(gcs, /*actor=*/true);
  auto [busy_old_lease, busy_old] = grant(busy, false);
  auto [busy_new_lease, busy_new] = grant(busy, false);
  auto [other_lease, other_worker] = grant(other, false);

  EXPECT_EQ(leases_->PickWorkerToKillForMemory(), busy_new) << "the busiest holder's newest, not the newest overall";
  busy_new->state = Worker::State::kExiting;
  EXPECT_EQ(leases_->PickWorkerToKillForMemory(), other_worker) << "a tie goes to the newer lease";
  ASSERT_OK(Return(other_lease));
  ASSERT_OK(Return(busy_old_lease));
  EXPECT_EQ(leases_->PickWorkerToKillForMemory(), actor) << "an actor only when no task is left";
}

}  // namespace
}  // namespace orrery::raylet
