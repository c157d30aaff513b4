// TaskSubmitter against a fake raylet: how many leases it asks for, and backpressure; and
// against fake workers serving real task streams (NormalTaskStream behind a gRPC server): tasks
// queued behind a busy worker move to a worker granted later, and leases a raylet asks back
// are returned once idle.
#include "src/core_worker/task_submitter.h"

#include <algorithm>
#include <atomic>
#include <future>
#include <optional>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/core_worker/normal_task_stream.h"
#include "src/raylet/client/fake_raylet_client.h"
#include "src/rpc/grpc_server.h"

namespace orrery::core {
namespace {

class TaskSubmitterTest : public ::testing::Test {
 protected:
  void Start(TaskSubmitter::Options options) {
    loop_->StartThread();
    TaskSubmitter::Callbacks callbacks;
    callbacks.on_result = [](const rpc::TaskSpec&, rpc::SerializedObject&&, const ResourceSet*) {};
    callbacks.on_failed = [this](const rpc::TaskSpec& task, const rpc::ErrorInfo& error) {
      std::lock_guard<std::mutex> lock(mu_);
      failed_.push_back(task.function_name() + ": " + error.message());
    };
    rpc::WorkerAddress self;
    self.set_worker_id(WorkerId::FromRandom().Binary());
    submitter_ = std::make_unique<TaskSubmitter>(options, loop_, self, JobIdFromInt(1), raylet_,
                                                 std::make_shared<RemoteRaylets>(rpc::ClientOptions{}), callbacks);
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

// Regression (issue 23): a scheduling key (one per resource shape, strategy, holder node and
// environment) was kept after its last task and lease were gone, so an owner whose tasks came
// in ever new shapes (a placement group or a node affinity each) grew without bound.
TEST_F(TaskSubmitterTest, AShapeIsForgottenOnceItsLastTaskAndLeaseAreGone) {
  Start(TaskSubmitter::Options());
  for (int cpus = 1; cpus <= 50; ++cpus) submitter_->Submit(Task("shaped"), Cpu(cpus));
  EXPECT_EQ(submitter_->num_scheduling_keys(), 50u);
  rpc::RequestWorkerLeaseReply unschedulable;
  unschedulable.set_result(rpc::RequestWorkerLeaseReply::UNSCHEDULABLE);
  auto leases = std::move(raylet_->leases);
  raylet_->leases.clear();
  for (auto& lease : leases) lease.callback(unschedulable);
  {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_EQ(failed_.size(), 50u);
  }
  EXPECT_EQ(submitter_->num_scheduling_keys(), 0u);
  // A shape seen again starts afresh: its lease request is whole.
  submitter_->Submit(Task("again"), Cpu(1));
  ASSERT_EQ(raylet_->leases.size(), 1u);
  const rpc::LeaseSpec& lease = raylet_->leases[0].request.lease();
  EXPECT_EQ(lease.job_id(), JobIdFromInt(1).Binary());
  EXPECT_EQ(ResourceSet::FromProto(lease.resources()).value(), Cpu(1));
  EXPECT_FALSE(lease.holder().worker_id().empty());
}

// Regression (issue 23): every death the WORKER_DEATH feed reported, of any worker in the
// cluster, was kept for good.
TEST_F(TaskSubmitterTest, DeathNotesAreKeptForTheLatestWorkersOnly) {
  TaskSubmitter::Options options;
  options.max_death_notes = 8;
  Start(options);
  WorkerId again = WorkerId::FromRandom();
  submitter_->NoteWorkerDeath(again, rpc::UNEXPECTED_EXIT, "first word");
  submitter_->NoteWorkerDeath(again, rpc::OUT_OF_MEMORY, "second word");
  EXPECT_EQ(submitter_->num_death_notes(), 1u);
  for (int i = 0; i < 100; ++i) submitter_->NoteWorkerDeath(WorkerId::FromRandom(), rpc::UNEXPECTED_EXIT, "died");
  EXPECT_EQ(submitter_->num_death_notes(), 8u);
}

// ---- against workers serving real streams ----

constexpr char kClusterToken[] = "stream-test-token";

// A worker process's task service: runs each task it is sent through NormalTaskStream; a task
// named "block" waits for Release(). Served as a worker's is, on plain TCP behind the token gate.
class FakeWorker final : public rpc::CoreWorkerService::Service {
 public:
  FakeWorker() : server_(rpc::ServerOptions{.name = "fake worker", .host = "127.0.0.1", .token = kClusterToken}) {
    server_.AddService(this);
    absl::Status started = server_.Start();
    EXPECT_TRUE(started.ok()) << started;
  }
  ~FakeWorker() override {
    Release();
    server_.Shutdown();
  }

  grpc::Status PushTasks(grpc::ServerContext*, grpc::ServerReaderWriter<rpc::ResultBatch, rpc::TaskBatch>* stream) override {
    rpc::TaskBatch first;
    if (!stream->Read(&first)) return grpc::Status::OK;
    NormalTaskStream::Serve(*stream, std::move(first), [this](const rpc::TaskSpec& task) {
      {
        absl::MutexLock lock(&mu_);
        ran_.push_back(task.function_name());
      }
      if (task.function_name() == "block") {
        started_.Notify();
        release_.WaitForNotification();
      }
      rpc::TaskResult result;
      result.set_task_id(task.task_id());
      result.set_attempt(task.attempt());
      return result;
    });
    return grpc::Status::OK;
  }

  rpc::RequestWorkerLeaseReply Grant() const {
    rpc::RequestWorkerLeaseReply reply;
    reply.set_result(rpc::RequestWorkerLeaseReply::GRANTED);
    reply.mutable_worker()->set_worker_id(id_.Binary());
    reply.mutable_worker()->set_ip("127.0.0.1");
    reply.mutable_worker()->set_port(server_.port());
    return reply;
  }
  void Release() {
    if (!release_.HasBeenNotified()) release_.Notify();
  }
  std::vector<std::string> ran() {
    absl::MutexLock lock(&mu_);
    return ran_;
  }
  absl::Notification started_;

 private:
  const WorkerId id_ = WorkerId::FromRandom();
  rpc::GrpcServer server_;
  absl::Notification release_;
  absl::Mutex mu_;
  std::vector<std::string> ran_ ABSL_GUARDED_BY(mu_);
};

// The raylet's side, safe from any thread: results reach the submitter on gRPC threads, which
// may ask for leases or return them from there.
class LockedRayletClient final : public raylet::RayletClient {
 public:
  struct LeaseCall {
    rpc::RequestWorkerLeaseRequest request;
    raylet::Callback<rpc::RequestWorkerLeaseReply> callback;
  };
  void RequestWorkerLease(const rpc::RequestWorkerLeaseRequest& request,
                          raylet::Callback<rpc::RequestWorkerLeaseReply> callback) override {
    absl::MutexLock lock(&mu_);
    leases_.push_back({request, std::move(callback)});
  }
  void ReturnWorker(const rpc::ReturnWorkerRequest& request, raylet::Callback<rpc::ReturnWorkerReply>) override {
    absl::MutexLock lock(&mu_);
    returned_.push_back(LeaseId::FromBinary(request.lease_id()).value());
  }
  // Answered only when set to say the lease was granted already (a grant whose reply was lost).
  void CancelWorkerLease(const rpc::CancelWorkerLeaseRequest&,
                         raylet::Callback<rpc::CancelWorkerLeaseReply> callback) override {
    bool granted;
    {
      absl::MutexLock lock(&mu_);
      granted = cancels_find_granted_;
    }
    if (!granted) return;
    rpc::CancelWorkerLeaseReply reply;
    reply.set_already_granted(true);
    callback(reply);
  }
  void SetCancelsFindGranted() {
    absl::MutexLock lock(&mu_);
    cancels_find_granted_ = true;
  }
  void ReleaseLeasesOfHolder(const rpc::ReleaseLeasesOfHolderRequest&,
                             raylet::Callback<rpc::ReleaseLeasesOfHolderReply>) override {}
  void RegisterWorker(const rpc::RegisterWorkerRequest&, raylet::Callback<rpc::RegisterWorkerReply>) override {}
  void NotifyWorkerBlocked(const rpc::NotifyWorkerBlockedRequest&,
                           raylet::Callback<rpc::NotifyWorkerBlockedReply>) override {}
  void HealthCheck(int64_t, raylet::Callback<rpc::HealthCheckReply>) override {}
  void GetNodeStats(raylet::Callback<rpc::GetNodeStatsReply>) override {}

  // Waits for the next lease call and answers it (outside the lock, as a real client would).
  LeaseId Answer(const rpc::RequestWorkerLeaseReply& reply) {
    LeaseCall call;
    {
      absl::MutexLock lock(&mu_);
      auto called = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !leases_.empty(); };
      mu_.Await(absl::Condition(&called));
      call = std::move(leases_.front());
      leases_.pop_front();
    }
    call.callback(reply);
    return LeaseId::FromBinary(call.request.lease().lease_id()).value();
  }
  // Waits up to `timeout` for the next lease call and fails it with `status`; answers its lease.
  std::optional<LeaseId> FailNext(const absl::Status& status, absl::Duration timeout) {
    LeaseCall call;
    {
      absl::MutexLock lock(&mu_);
      auto called = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !leases_.empty(); };
      if (!mu_.AwaitWithTimeout(absl::Condition(&called), timeout)) return std::nullopt;
      call = std::move(leases_.front());
      leases_.pop_front();
    }
    call.callback(status);
    return LeaseId::FromBinary(call.request.lease().lease_id()).value();
  }
  // Whether a lease call comes within `timeout` (it stays to be answered).
  bool AwaitCall(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto called = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !leases_.empty(); };
    return mu_.AwaitWithTimeout(absl::Condition(&called), timeout);
  }
  // The lease the next call asks for (it stays to be answered).
  LeaseId NextLeaseId() {
    absl::MutexLock lock(&mu_);
    auto called = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !leases_.empty(); };
    mu_.Await(absl::Condition(&called));
    return LeaseId::FromBinary(leases_.front().request.lease().lease_id()).value();
  }
  static rpc::RequestWorkerLeaseReply Queued() {
    rpc::RequestWorkerLeaseReply reply;
    reply.set_result(rpc::RequestWorkerLeaseReply::PENDING);
    return reply;
  }
  std::vector<LeaseId> AwaitReturned(size_t count) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return returned_.size() >= count; };
    mu_.Await(absl::Condition(&enough));
    return returned_;
  }
  std::vector<LeaseId> returned() {
    absl::MutexLock lock(&mu_);
    return returned_;
  }
  void Drop() {
    absl::MutexLock lock(&mu_);
    leases_.clear();
  }

 private:
  absl::Mutex mu_;
  std::deque<LeaseCall> leases_ ABSL_GUARDED_BY(mu_);
  std::vector<LeaseId> returned_ ABSL_GUARDED_BY(mu_);
  bool cancels_find_granted_ ABSL_GUARDED_BY(mu_) = false;
};

class TaskSubmitterStreamTest : public ::testing::Test {
 protected:
  TaskSubmitterStreamTest() {
    loop_->StartThread();
    // Only a raylet's ask returns a lease in most of these tests.
    MakeSubmitter(/*idle_lease_ms=*/60'000);
  }
  // `idle_lease_ms` also sets how often the submitter checks its keys: a tenth of it.
  void MakeSubmitter(int64_t idle_lease_ms) {
    if (submitter_ != nullptr) submitter_->Stop();
    TaskSubmitter::Options options;
    options.idle_lease_ms = idle_lease_ms;
    options.cluster_token = kClusterToken;
    TaskSubmitter::Callbacks callbacks;
    callbacks.on_result = [this](const rpc::TaskSpec& task, rpc::SerializedObject&&, const ResourceSet*) {
      absl::MutexLock lock(&mu_);
      finished_.push_back(task.function_name());
    };
    callbacks.on_failed = [](const rpc::TaskSpec& task, const rpc::ErrorInfo& error) {
      ADD_FAILURE() << task.function_name() << " failed: " << error.message();
    };
    callbacks.on_dispatched = [this](const rpc::TaskSpec&, const rpc::WorkerAddress&) { ++dispatched_; };
    rpc::WorkerAddress self;
    self.set_worker_id(WorkerId::FromRandom().Binary());
    submitter_ = std::make_unique<TaskSubmitter>(options, loop_, self, JobIdFromInt(1), raylet_,
                                                 std::make_shared<RemoteRaylets>(rpc::ClientOptions{}), callbacks);
  }
  ~TaskSubmitterStreamTest() override {
    first_.Release();
    second_.Release();
    submitter_->Stop();
    loop_->Stop();
    raylet_->Drop();
  }

  static rpc::TaskSpec Task(const std::string& name) {
    rpc::TaskSpec task;
    task.set_task_id(TaskId::FromRandom().Binary());
    task.set_function_name(name);
    return task;
  }
  void Submit(const std::string& name) { submitter_->Submit(Task(name), ResourceSet::FromDoubles({{"CPU", 1}}).value()); }
  std::vector<std::string> AwaitFinished(size_t count) {
    absl::MutexLock lock(&mu_);
    auto enough = [&] { return finished_.size() >= count; };
    mu_.Await(absl::Condition(&enough));
    return finished_;
  }

  FakeWorker first_;
  FakeWorker second_;
  std::shared_ptr<EventLoop> loop_ = EventLoop::Create("test");
  std::shared_ptr<LockedRayletClient> raylet_ = std::make_shared<LockedRayletClient>();
  std::unique_ptr<TaskSubmitter> submitter_;
  absl::Mutex mu_;
  std::vector<std::string> finished_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> dispatched_{0};
};

TEST_F(TaskSubmitterStreamTest, ATaskQueuedBehindABusyWorkerMovesToAWorkerGrantedLater) {
  Submit("block");
  Submit("quick");
  raylet_->Answer(first_.Grant());            // "block" starts on the first worker
  first_.started_.WaitForNotification();
  raylet_->Answer(LockedRayletClient::Queued());  // the node is full: "quick" queues behind it
  raylet_->Answer(second_.Grant());           // the re-asked request is granted at last
  // "quick" finishes on the second worker while "block" still runs on the first.
  EXPECT_THAT(AwaitFinished(1), ::testing::ElementsAre("quick"));
  EXPECT_THAT(second_.ran(), ::testing::ElementsAre("quick"));
  first_.Release();
  EXPECT_THAT(AwaitFinished(2), ::testing::ElementsAre("quick", "block"));
  EXPECT_THAT(first_.ran(), ::testing::ElementsAre("block"));
}

// A submitter with a deep queue keeps its worker fed past the configured window (100): up to
// its fair share of what it has to run (here all of it: one worker), so that the worker never
// waits for its submitter's process to get a core between batches.
TEST_F(TaskSubmitterStreamTest, ADeepQueueFillsItsWorkerPastTheConfiguredWindow) {
  Submit("block");
  raylet_->Answer(first_.Grant());
  first_.started_.WaitForNotification();
  constexpr int kTasks = 300;
  for (int i = 0; i < kTasks; ++i) Submit("t");
  // The node is full: every lease request asked for the queue is answered "queued" (and asked
  // again, and answered so again) until the tasks have gone to the busy worker.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (dispatched_.load() < kTasks + 1 && absl::Now() < deadline) {
    if (raylet_->AwaitCall(absl::Milliseconds(50))) raylet_->Answer(LockedRayletClient::Queued());
  }
  EXPECT_EQ(dispatched_.load(), kTasks + 1);
  first_.Release();
  EXPECT_EQ(AwaitFinished(kTasks + 1).size(), static_cast<size_t>(kTasks + 1));
  EXPECT_EQ(first_.ran().size(), static_cast<size_t>(kTasks + 1));
}

TEST_F(TaskSubmitterStreamTest, ALeaseAskedBackIsReturnedOnceIdleAndAnIdleOneAtOnce) {
  Submit("block");
  LeaseId busy = raylet_->Answer(first_.Grant());
  first_.started_.WaitForNotification();
  submitter_->YieldIdleLeases({busy});
  EXPECT_TRUE(raylet_->returned().empty());  // it runs a task
  first_.Release();
  EXPECT_THAT(raylet_->AwaitReturned(1), ::testing::ElementsAre(busy));
  // Another lease, idle and kept for reuse, until asked for.
  Submit("quick");
  LeaseId idle = raylet_->Answer(second_.Grant());
  AwaitFinished(2);
  EXPECT_EQ(raylet_->returned().size(), 1u);
  EXPECT_EQ(submitter_->num_leased_workers(), 1);
  submitter_->YieldIdleLeases({idle, LeaseId::FromRandom()});
  EXPECT_THAT(raylet_->returned(), ::testing::ElementsAre(busy, idle));
  EXPECT_EQ(submitter_->num_leased_workers(), 0);
  // Nothing of the shape is left: it is forgotten (issue 23), and stays forgotten once the
  // returned workers' streams have ended (their end looks the shape up again).
  EXPECT_EQ(submitter_->num_scheduling_keys(), 0u);
  submitter_->WaitForWorkerStreamsToEnd();
  EXPECT_EQ(submitter_->num_scheduling_keys(), 0u);
}

// A task queued behind a busy worker waits for the lease request that was pending when it
// queued. If that request ends without a worker (here its raylet failed it; a spillback to a node
// that died, or a request the raylet dropped, end alike), another is made: otherwise the task
// waits for the busy worker however long its task runs, forever if that task waits for it. And
// the failed request is cancelled: had the raylet granted it (every reply lost), its worker goes
// back rather than stay leased to nobody.
TEST_F(TaskSubmitterStreamTest, TasksWaitingBehindABusyWorkerAskAgainWhenTheirLeaseRequestFails) {
  MakeSubmitter(/*idle_lease_ms=*/1'000);
  Submit("block");
  raylet_->Answer(first_.Grant());
  first_.started_.WaitForNotification();
  Submit("next");
  raylet_->Answer(LockedRayletClient::Queued());  // the node is full: "next" queues behind "block"
  raylet_->SetCancelsFindGranted();
  std::optional<LeaseId> failed = raylet_->FailNext(absl::UnavailableError("injected"), absl::Seconds(10));
  ASSERT_TRUE(failed.has_value());  // the re-ask fails
  EXPECT_THAT(raylet_->AwaitReturned(1), ::testing::ElementsAre(*failed));
  ASSERT_TRUE(raylet_->AwaitCall(absl::Seconds(10))) << "no new lease request for the waiting task";
  raylet_->Answer(second_.Grant());
  EXPECT_THAT(AwaitFinished(1), ::testing::ElementsAre("next"));
  EXPECT_THAT(second_.ran(), ::testing::ElementsAre("next"));
  first_.Release();
  EXPECT_THAT(AwaitFinished(2), ::testing::ElementsAre("next", "block"));
}

// What a raylet's check of its grants (CheckLeases) is told: the leases this holder was granted
// and keeps, and those it still waits for, are held; one it returned, or never asked for, is not.
TEST_F(TaskSubmitterStreamTest, ItHoldsTheLeasesItKeepsAndThoseItWaitsFor) {
  Submit("block");
  LeaseId granted = raylet_->Answer(first_.Grant());
  first_.started_.WaitForNotification();
  Submit("next");
  LeaseId waited_for = raylet_->NextLeaseId();
  EXPECT_TRUE(submitter_->Holds(granted));
  EXPECT_TRUE(submitter_->Holds(waited_for));
  EXPECT_FALSE(submitter_->Holds(LeaseId::FromRandom()));
  raylet_->Answer(second_.Grant());
  first_.Release();
  AwaitFinished(2);
  submitter_->YieldIdleLeases({granted});
  raylet_->AwaitReturned(1);
  EXPECT_FALSE(submitter_->Holds(granted));
  EXPECT_TRUE(submitter_->Holds(waited_for));
}

// The raylet asks a lease back when another holder waits for its resources. A holder with more
// tasks of the shape must not keep it busy for good (the other holder would starve, as a job's
// re-runs did behind another job's stream of tasks): the worker takes no new task, goes back
// once its task is done, and the rest wait for a new lease like everyone else.
TEST_F(TaskSubmitterStreamTest, ALeaseAskedBackTakesNoNewTaskEvenWhenMoreWait) {
  Submit("block");
  LeaseId busy = raylet_->Answer(first_.Grant());
  first_.started_.WaitForNotification();
  submitter_->YieldIdleLeases({busy});
  Submit("next");
  raylet_->Answer(LockedRayletClient::Queued());  // the node is full
  first_.Release();
  EXPECT_THAT(raylet_->AwaitReturned(1), ::testing::ElementsAre(busy));
  raylet_->Answer(second_.Grant());  // the re-asked request, granted once the lease went back
  EXPECT_THAT(AwaitFinished(2), ::testing::ElementsAre("block", "next"));
  EXPECT_THAT(first_.ran(), ::testing::ElementsAre("block"));
  EXPECT_THAT(second_.ran(), ::testing::ElementsAre("next"));
}

}  // namespace
}  // namespace orrery::core
