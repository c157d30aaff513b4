// NormalTaskStream against an in-memory stream: tasks run in order, the stream is read while a
// task runs, tasks taken back (TaskBatch.steal) never run here, even when the steal races with
// the task's start, and a task that waits gives back what waits behind it.
#include "src/core_worker/normal_task_stream.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace orrery::core {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// The owner's end: batches to read, what was written back.
class FakeStream final : public NormalTaskStream::Stream {
 public:
  void Send(rpc::TaskBatch batch) {
    absl::MutexLock lock(&mu_);
    incoming_.push_back(std::move(batch));
  }
  void CloseWrites() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }
  void FailWrites() {
    absl::MutexLock lock(&mu_);
    fail_writes_ = true;
    closed_ = true;  // a broken call ends its reads too
  }

  bool Read(rpc::TaskBatch* batch) override {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](FakeStream* self) { return !self->incoming_.empty() || self->closed_; }, this));
    if (incoming_.empty()) return false;
    *batch = std::move(incoming_.front());
    incoming_.erase(incoming_.begin());
    return true;
  }
  bool Write(const rpc::ResultBatch& results, grpc::WriteOptions) override {
    absl::MutexLock lock(&mu_);
    if (fail_writes_) return false;
    for (const auto& result : results.results()) done_.push_back(result.task_id());
    if (results.running() != rpc::ResultBatch::RUNNING_UNCHANGED) running_.push_back(results.running());
    if (results.has_stolen()) {
      ++steal_answers_;
      for (const auto& id : results.stolen().task_ids()) stolen_.push_back(id);
    }
    return true;
  }
  bool NextMessageSize(uint32_t* size) override {
    *size = UINT32_MAX;
    return true;
  }
  void SendInitialMetadata() override {}

  // Waits until `results` results and `answers` steal answers came back.
  void AwaitWritten(size_t results, int answers) {
    absl::MutexLock lock(&mu_);
    auto enough = [&] { return done_.size() >= results && steal_answers_ >= answers; };
    mu_.Await(absl::Condition(&enough));
  }
  std::vector<std::string> done() {
    absl::MutexLock lock(&mu_);
    return done_;
  }
  std::vector<std::string> stolen() {
    absl::MutexLock lock(&mu_);
    return stolen_;
  }
  // The notices that the running task began or ended waiting (ResultBatch.running).
  std::vector<int> running() {
    absl::MutexLock lock(&mu_);
    return running_;
  }

 private:
  absl::Mutex mu_;
  std::vector<rpc::TaskBatch> incoming_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool fail_writes_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::string> done_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> stolen_ ABSL_GUARDED_BY(mu_);
  std::vector<int> running_ ABSL_GUARDED_BY(mu_);
  int steal_answers_ ABSL_GUARDED_BY(mu_) = 0;
};

rpc::TaskSpec Task(const std::string& id) {
  rpc::TaskSpec task;
  task.set_task_id(id);
  return task;
}

rpc::TaskBatch Batch(std::vector<std::string> ids, int steal = 0) {
  rpc::TaskBatch batch;
  for (const auto& id : ids) *batch.add_tasks() = Task(id);
  batch.set_steal(steal);
  return batch;
}

// How the blocking task waits: as a plain function, or as a task in Get (it says so to the
// stream, and again when it goes on, unless it ends while waiting).
enum class Waits { kSilently, kSaysSo, kSaysSoAndEndsWaiting };

// Runs tasks, recording which ran; the task named `blocking` waits for `release`.
class Executor {
 public:
  explicit Executor(std::string blocking = "", Waits waits = Waits::kSilently)
      : blocking_(std::move(blocking)), waits_(waits) {}

  rpc::TaskResult operator()(const rpc::TaskSpec& task) {
    {
      absl::MutexLock lock(&mu_);
      ran_.push_back(task.task_id());
    }
    if (task.task_id() == blocking_) {
      if (waits_ != Waits::kSilently) NormalTaskStream::RunningTaskBlocked(true);
      started_.Notify();
      release_.WaitForNotification();
      if (waits_ == Waits::kSaysSo) NormalTaskStream::RunningTaskBlocked(false);
    }
    rpc::TaskResult result;
    result.set_task_id(task.task_id());
    return result;
  }
  std::vector<std::string> ran() {
    absl::MutexLock lock(&mu_);
    return ran_;
  }

  absl::Notification started_;
  absl::Notification release_;

 private:
  const std::string blocking_;
  const Waits waits_;
  absl::Mutex mu_;
  std::vector<std::string> ran_ ABSL_GUARDED_BY(mu_);
};

TEST(NormalTaskStreamTest, RunsTasksInOrderAndEndsWhenTheOwnerCloses) {
  FakeStream stream;
  Executor executor;
  NormalTaskStream::Execute execute = [&](const rpc::TaskSpec& task) { return executor(task); };
  std::thread serving([&] { NormalTaskStream::Serve(stream, Batch({"a", "b"}), execute); });
  stream.Send(Batch({"c"}));
  stream.AwaitWritten(3, 0);
  stream.CloseWrites();
  serving.join();
  EXPECT_THAT(executor.ran(), ElementsAre("a", "b", "c"));
  EXPECT_THAT(stream.done(), ElementsAre("a", "b", "c"));
}

TEST(NormalTaskStreamTest, TasksQueuedBehindARunningOneAreGivenBackNewestFirst) {
  FakeStream stream;
  Executor executor("a");
  NormalTaskStream::Execute execute = [&](const rpc::TaskSpec& task) { return executor(task); };
  std::thread serving([&] { NormalTaskStream::Serve(stream, Batch({"a"}), execute); });
  executor.started_.WaitForNotification();
  // Read while "a" runs: the owner takes two of the three queued behind it.
  stream.Send(Batch({"b", "c", "d"}));
  stream.Send(Batch({}, /*steal=*/2));
  stream.AwaitWritten(0, 1);
  EXPECT_THAT(stream.stolen(), ElementsAre("c", "d"));
  // More than is queued: only what has not started comes back, never the running task.
  stream.Send(Batch({}, /*steal=*/5));
  stream.AwaitWritten(0, 2);
  EXPECT_THAT(stream.stolen(), ElementsAre("c", "d", "b"));
  executor.release_.Notify();
  stream.AwaitWritten(1, 2);
  stream.CloseWrites();
  serving.join();
  EXPECT_THAT(executor.ran(), ElementsAre("a"));
  EXPECT_THAT(stream.done(), ElementsAre("a"));
}

// The steal arrives as the task queued behind a short one may be starting: it either ran (and
// answered) or came back, never both and never neither.
TEST(NormalTaskStreamTest, AStealRacingATasksStartLeavesItRunExactlyOnce) {
  int given_back = 0;
  for (int round = 0; round < 300; ++round) {
    FakeStream stream;
    Executor executor;
    NormalTaskStream::Execute execute = [&](const rpc::TaskSpec& task) {
      // "a" ends around when the steal is read, at a different moment each round.
      if (task.task_id() == "a") std::this_thread::sleep_for(std::chrono::microseconds(round % 50));
      return executor(task);
    };
    std::thread serving([&] { NormalTaskStream::Serve(stream, Batch({"a", "x"}), execute); });
    stream.Send(Batch({}, /*steal=*/1));
    stream.AwaitWritten(0, 1);
    stream.CloseWrites();
    serving.join();
    std::vector<std::string> runs = executor.ran();
    size_t x_runs = std::count(runs.begin(), runs.end(), "x");
    size_t x_stolen = stream.stolen().size();
    ASSERT_EQ(x_runs + x_stolen, 1u) << "round " << round;
    EXPECT_EQ(stream.done().size(), runs.size());
    given_back += static_cast<int>(x_stolen);
  }
  RecordProperty("given_back", given_back);  // how often the steal won, of 300
}

// A task waiting in Get may wait for one queued behind it (a lost argument made again, say):
// everything queued behind it goes back to its owner, and so does what arrives meanwhile.
TEST(NormalTaskStreamTest, ATaskThatWaitsGivesBackWhatIsQueuedBehindItAndWhatArrives) {
  FakeStream stream;
  Executor executor("a", Waits::kSaysSo);
  NormalTaskStream::Execute execute = [&](const rpc::TaskSpec& task) { return executor(task); };
  std::thread serving([&] { NormalTaskStream::Serve(stream, Batch({"a", "b", "c"}), execute); });
  executor.started_.WaitForNotification();
  EXPECT_THAT(stream.stolen(), ElementsAre("b", "c"));
  EXPECT_THAT(stream.running(), ElementsAre(rpc::ResultBatch::RUNNING_BLOCKED));
  // Sent before the owner heard: it goes back unasked.
  stream.Send(Batch({"d"}));
  stream.AwaitWritten(0, 2);
  EXPECT_THAT(stream.stolen(), ElementsAre("b", "c", "d"));
  executor.release_.Notify();
  stream.AwaitWritten(1, 2);
  // It runs again: the owner may pipeline onto it again, and what it sends then runs here.
  EXPECT_THAT(stream.running(),
              ElementsAre(rpc::ResultBatch::RUNNING_BLOCKED, rpc::ResultBatch::RUNNING_UNBLOCKED));
  stream.Send(Batch({"e"}));
  stream.AwaitWritten(2, 2);
  stream.CloseWrites();
  serving.join();
  EXPECT_THAT(executor.ran(), ElementsAre("a", "e"));
  EXPECT_THAT(stream.done(), ElementsAre("a", "e"));
}

// A task that ends while it still waits (its Get threw): its result says it runs no more.
TEST(NormalTaskStreamTest, ATaskEndingWhileItWaitsTellsTheOwnerWithItsResult) {
  FakeStream stream;
  Executor executor("a", Waits::kSaysSoAndEndsWaiting);
  NormalTaskStream::Execute execute = [&](const rpc::TaskSpec& task) { return executor(task); };
  std::thread serving([&] { NormalTaskStream::Serve(stream, Batch({"a"}), execute); });
  executor.started_.WaitForNotification();
  executor.release_.Notify();
  stream.AwaitWritten(1, 1);
  stream.CloseWrites();
  serving.join();
  EXPECT_THAT(stream.running(),
              ElementsAre(rpc::ResultBatch::RUNNING_BLOCKED, rpc::ResultBatch::RUNNING_UNBLOCKED));
  EXPECT_THAT(stream.stolen(), IsEmpty());
}

// The owner went away while a task ran: the stream ends (the worker is free for another
// lease) once the results cannot be written, each task having run at most once.
TEST(NormalTaskStreamTest, AGoneOwnerEndsTheStream) {
  FakeStream stream;
  Executor executor("a");
  NormalTaskStream::Execute execute = [&](const rpc::TaskSpec& task) { return executor(task); };
  std::thread serving([&] { NormalTaskStream::Serve(stream, Batch({"a", "b"}), execute); });
  executor.started_.WaitForNotification();
  stream.FailWrites();
  executor.release_.Notify();
  serving.join();
  std::vector<std::string> ran = executor.ran();
  ASSERT_FALSE(ran.empty());
  EXPECT_EQ(ran[0], "a");
  EXPECT_LE(ran.size(), 2u);
  EXPECT_THAT(stream.done(), IsEmpty());
}

}  // namespace
}  // namespace orrery::core
