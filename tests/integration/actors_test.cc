// Actors end to end, through the public API only: Init() starts a real local cluster and this
// binary is also the job's worker program, so every actor below lives in a real worker process
// that the GCS placed through a raylet. The driver's streams to its actors are cut every 2,500
// results (ORRERY_TESTING_CUT_ACTOR_STREAM_EVERY), so the long runs also cross reconnects. The
// same tests run again in local mode (test_mode.h), where each actor lives in this process:
// there, the checks that an actor's process ended have nothing to look at and are left out.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orrery/api.h"
#include "temp_root.h"
#include "test_mode.h"

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// ---- actors ----

class Counter {
 public:
  explicit Counter(int start) : count_(start) {}
  static Counter* Create(int start) { return new Counter(start); }
  int Add(int x) { return count_ += x; }
  int Get() const { return count_; }
  int Pid() const { return getpid(); }
  bool Restarted() const { return orrery::WasCurrentActorRestarted(); }
  std::string Namespace() const { return orrery::GetNamespace(); }
  int Fail(std::string why) { throw std::runtime_error(why); }
  // Answers its pid at once when `marker` exists; else makes it and hangs (for the test to kill
  // the process mid-call).
  int PidOnceMarked(std::string marker) {
    if (std::filesystem::exists(marker)) return getpid();
    std::ofstream(marker) << getpid();
    std::this_thread::sleep_for(std::chrono::seconds(60));
    return -1;
  }
  int Exit() {
    orrery::ExitActor();
    return 0;
  }

 private:
  int count_;
};

Counter* ThrowingCounter(std::string why) { throw std::invalid_argument(why); }

// Each Arrive() waits (up to 5 s) until `parties` calls are inside at once: true when they were.
class Latch {
 public:
  static Latch* Create(int parties) { return new Latch(parties); }
  explicit Latch(int parties) : parties_(parties) {}
  bool Arrive() {
    std::unique_lock<std::mutex> lock(mu_);
    ++arrived_;
    cv_.notify_all();
    return cv_.wait_for(lock, std::chrono::seconds(5), [this] { return arrived_ >= parties_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int parties_;
  int arrived_ = 0;
};

// Owns a named child actor, so the child's fate follows this actor's process.
class Parent {
 public:
  static Parent* Create(std::string child_name) {
    auto* parent = new Parent();
    parent->child_ = orrery::Actor(Counter::Create).SetName(child_name).Remote(0);
    return parent;
  }
  int ChildPid() { return *orrery::Get(child_.Task(&Counter::Pid).Remote()); }

 private:
  orrery::ActorHandle<Counter> child_;
};

int AddThroughHandle(orrery::ActorHandle<Counter> counter, int x) {
  return *orrery::Get(counter.Task(&Counter::Add).Remote(x));
}
// Calls Add(1) `n` times through the handle; true when the results it saw were increasing.
bool AddManyInOrder(orrery::ActorHandle<Counter> counter, int n) {
  std::vector<orrery::ObjectRef<int>> refs;
  for (int i = 0; i < n; ++i) refs.push_back(counter.Task(&Counter::Add).Remote(1));
  int last = -1;
  for (auto& ref : refs) {
    int value = *orrery::Get(ref);
    if (value <= last) return false;
    last = value;
  }
  return true;
}
std::string TaskNamespace() { return orrery::GetNamespace(); }
orrery::ActorHandle<Counter> MakeCounterInTask(int start) {
  auto counter = orrery::Actor(Counter::Create).SetLifetime(orrery::ActorLifetime::DETACHED).Remote(start);
  return counter;
}

ORRERY_REMOTE(Counter::Create, &Counter::Add, &Counter::Get, &Counter::Pid, &Counter::Restarted, &Counter::Namespace,
              &Counter::Fail, &Counter::PidOnceMarked, &Counter::Exit, ThrowingCounter, Latch::Create, &Latch::Arrive,
              Parent::Create, &Parent::ChildPid, AddThroughHandle, AddManyInOrder, TaskNamespace, MakeCounterInTask);

namespace {

using orrery::testing::LocalMode;
using orrery::testing::MakeTempRoot;

std::string g_root;

bool ProcessGone(int pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

// Polls for state that has no event to wait on (a process's end), up to 20 s.
bool Eventually(const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

class Actors : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_root = MakeTempRoot();
    orrery::Config config;
    config.temp_dir = g_root;
    config.head_args = {"--num-cpus", "2"};
    config.local_mode = LocalMode();
    orrery::Init(config);
  }
  static void TearDownTestSuite() {
    orrery::Shutdown();
    if (std::getenv("ORRERY_TEST_KEEP_DIR") == nullptr) fs::remove_all(g_root);
  }
};

TEST_F(Actors, TenThousandCallsRunOnceEachInOrderAcrossCutConnections) {
  auto counter = orrery::Actor(Counter::Create).Remote(0);
  std::vector<orrery::ObjectRef<int>> refs;
  refs.reserve(10'000);
  for (int i = 0; i < 10'000; ++i) refs.push_back(counter.Task(&Counter::Add).Remote(1));
  // Each call sees the count the calls before it made: no duplicate, no gap, no reordering.
  for (int i = 0; i < 10'000; ++i) ASSERT_EQ(*orrery::Get(refs[i]), i + 1) << "call " << i;
  EXPECT_EQ(*orrery::Get(counter.Task(&Counter::Get).Remote()), 10'000);
}

TEST_F(Actors, ManyActorsFitOnTwoCpusAndEachKeepsItsOwnState) {
  std::vector<orrery::ActorHandle<Counter>> counters;
  for (int i = 0; i < 6; ++i) counters.push_back(orrery::Actor(Counter::Create).Remote(i * 100));
  std::set<int> pids;
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(*orrery::Get(counters[i].Task(&Counter::Add).Remote(1)), i * 100 + 1);
    pids.insert(*orrery::Get(counters[i].Task(&Counter::Pid).Remote()));
  }
  if (!LocalMode()) {
    EXPECT_EQ(pids.size(), 6u) << "one worker process per actor";
  }
  // Normal tasks still find CPUs: the actors hold none.
  EXPECT_EQ(*orrery::Get(orrery::Task(TaskNamespace).Remote()), orrery::GetNamespace());
}

TEST_F(Actors, TwoCallersInterleaveEachInItsOwnOrder) {
  auto counter = orrery::Actor(Counter::Create).Remote(0);
  auto other = orrery::Task(AddManyInOrder).Remote(counter, 2000);
  std::vector<orrery::ObjectRef<int>> mine;
  for (int i = 0; i < 2000; ++i) mine.push_back(counter.Task(&Counter::Add).Remote(1));
  int last = -1;
  for (auto& ref : mine) {
    int value = *orrery::Get(ref);
    ASSERT_GT(value, last);
    last = value;
  }
  EXPECT_TRUE(*orrery::Get(other));
  EXPECT_EQ(*orrery::Get(counter.Task(&Counter::Get).Remote()), 4000);
}

TEST_F(Actors, AHandlePassedToATaskAndReturnedFromOneWorks) {
  auto counter = orrery::Actor(Counter::Create).Remote(10);
  EXPECT_EQ(*orrery::Get(orrery::Task(AddThroughHandle).Remote(counter, 5)), 15);
  EXPECT_EQ(*orrery::Get(counter.Task(&Counter::Get).Remote()), 15);
  auto made = *orrery::Get(orrery::Task(MakeCounterInTask).Remote(7));
  EXPECT_EQ(*orrery::Get(made.Task(&Counter::Add).Remote(1)), 8);
  made.Kill();
}

TEST_F(Actors, ConcurrencyThreeLetsThreeCallsMeet) {
  auto latch = orrery::Actor(Latch::Create).SetMaxConcurrency(3).Remote(3);
  std::vector<orrery::ObjectRef<bool>> refs;
  for (int i = 0; i < 3; ++i) refs.push_back(latch.Task(&Latch::Arrive).Remote());
  for (auto& ref : refs) EXPECT_TRUE(*orrery::Get(ref, 10'000));
}

TEST_F(Actors, ConcurrencyTwoCannotLetThreeMeet) {
  auto latch = orrery::Actor(Latch::Create).SetMaxConcurrency(2).Remote(3);
  std::vector<orrery::ObjectRef<bool>> refs;
  for (int i = 0; i < 3; ++i) refs.push_back(latch.Task(&Latch::Arrive).Remote());
  EXPECT_THROW(orrery::Get(refs[0], 2000), orrery::GetTimeoutError);
  latch.Kill();
}

TEST_F(Actors, AMethodThatThrowsFailsOnlyThatCall) {
  auto counter = orrery::Actor(Counter::Create).Remote(1);
  try {
    orrery::Get(counter.Task(&Counter::Fail).Remote("no luck"));
    FAIL() << "expected TaskError";
  } catch (const orrery::TaskError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no luck"));
  }
  EXPECT_EQ(*orrery::Get(counter.Task(&Counter::Add).Remote(1)), 2);
}

TEST_F(Actors, SigkillWithoutRestartsFailsCallsWithActorDiedError) {
  ORRERY_SKIP_IN_LOCAL_MODE("an actor process to SIGKILL (here it would be the driver)");
  auto counter = orrery::Actor(Counter::Create).Remote(0);
  int pid = *orrery::Get(counter.Task(&Counter::Pid).Remote());
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  try {
    orrery::Get(counter.Task(&Counter::Add).Remote(1), 30'000);
    FAIL() << "expected ActorDiedError";
  } catch (const orrery::ActorDiedError& e) {
    EXPECT_THAT(e.what(), HasSubstr("process died"));
  }
}

TEST_F(Actors, SigkillWithARestartRunsTheFactoryAgain) {
  ORRERY_SKIP_IN_LOCAL_MODE("an actor process to SIGKILL (here it would be the driver)");
  auto counter = orrery::Actor(Counter::Create).SetMaxRestarts(1).SetMaxTaskRetries(-1).Remote(100);
  EXPECT_EQ(*orrery::Get(counter.Task(&Counter::Add).Remote(1)), 101);
  EXPECT_FALSE(*orrery::Get(counter.Task(&Counter::Restarted).Remote()));
  int pid = *orrery::Get(counter.Task(&Counter::Pid).Remote());
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  // Retried on the new process: the state is the constructor's again.
  EXPECT_EQ(*orrery::Get(counter.Task(&Counter::Add).Remote(1), 30'000), 101);
  EXPECT_TRUE(*orrery::Get(counter.Task(&Counter::Restarted).Remote()));
  EXPECT_NE(*orrery::Get(counter.Task(&Counter::Pid).Remote()), pid);
  // The budget is spent: the next death is final.
  ASSERT_EQ(kill(*orrery::Get(counter.Task(&Counter::Pid).Remote()), SIGKILL), 0);
  EXPECT_THROW(orrery::Get(counter.Task(&Counter::Get).Remote(), 30'000), orrery::ActorDiedError);
}

// A call's own SetMaxRetries wins over the actor's max_task_retries, both ways.
TEST_F(Actors, ACallsSetMaxRetriesDecidesWhetherItIsSentAgainAfterADeath) {
  ORRERY_SKIP_IN_LOCAL_MODE("an actor process to SIGKILL (here it would be the driver)");
  auto kill_mid_call = [](orrery::ActorHandle<Counter>& counter, const std::string& marker, int max_retries) {
    auto call = counter.Task(&Counter::PidOnceMarked).SetMaxRetries(max_retries).Remote(marker);
    EXPECT_TRUE(Eventually([&] { return std::filesystem::exists(marker); }));
    int pid = 0;
    std::ifstream(marker) >> pid;
    EXPECT_GT(pid, 0);
    if (pid > 0) kill(pid, SIGKILL);
    return std::make_pair(call, pid);
  };
  // The actor retries no call (its default), this one once: it runs again on the new process.
  auto once = orrery::Actor(Counter::Create).SetMaxRestarts(1).Remote(0);
  auto [retried, first] = kill_mid_call(once, g_root + "/retried-call", 1);
  int answered = *orrery::Get(retried, 30'000);
  EXPECT_GT(answered, 0);
  EXPECT_NE(answered, first);
  // The actor retries every call, this one never: it fails with the death.
  auto always = orrery::Actor(Counter::Create).SetMaxRestarts(1).SetMaxTaskRetries(-1).Remote(0);
  auto [not_retried, pid] = kill_mid_call(always, g_root + "/not-retried-call", 0);
  try {
    orrery::Get(not_retried, 30'000);
    ADD_FAILURE() << "the call with SetMaxRetries(0) should fail with its actor's death";
  } catch (const orrery::ActorDiedError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("max_retries 0"));
  }
}

TEST_F(Actors, KillFalseRestartsWithFreshState) {
  auto counter = orrery::Actor(Counter::Create).SetMaxRestarts(1).SetMaxTaskRetries(-1).Remote(0);
  EXPECT_EQ(*orrery::Get(counter.Task(&Counter::Add).Remote(5)), 5);
  int pid = *orrery::Get(counter.Task(&Counter::Pid).Remote());
  counter.Kill(false);
  if (!LocalMode()) {
    ASSERT_TRUE(Eventually([&] { return ProcessGone(pid); }));
  }
  EXPECT_EQ(*orrery::Get(counter.Task(&Counter::Get).Remote(), 30'000), 0);
  EXPECT_TRUE(*orrery::Get(counter.Task(&Counter::Restarted).Remote()));
}

TEST_F(Actors, KillEndsTheActorForGoodAndFreesItsName) {
  auto counter = orrery::Actor(Counter::Create).SetName("killed-one").SetMaxRestarts(5).Remote(0);
  int pid = *orrery::Get(counter.Task(&Counter::Pid).Remote());
  counter.Kill();
  try {
    orrery::Get(counter.Task(&Counter::Get).Remote(), 30'000);
    FAIL() << "expected ActorDiedError";
  } catch (const orrery::ActorDiedError& e) {
    EXPECT_THAT(e.what(), HasSubstr("killed"));
  }
  if (!LocalMode()) {
    EXPECT_TRUE(Eventually([&] { return ProcessGone(pid); }));
  }
  EXPECT_FALSE(orrery::GetActor<Counter>("killed-one").has_value());
  auto again = orrery::Actor(Counter::Create).SetName("killed-one").Remote(3);
  EXPECT_EQ(*orrery::Get(again.Task(&Counter::Get).Remote()), 3);
  again.Kill();
}

TEST_F(Actors, ExitActorEndsItGracefully) {
  auto counter = orrery::Actor(Counter::Create).SetMaxRestarts(3).Remote(0);
  EXPECT_THROW(orrery::Get(counter.Task(&Counter::Exit).Remote(), 30'000), orrery::ActorDiedError);
  try {
    orrery::Get(counter.Task(&Counter::Get).Remote(), 30'000);
    FAIL() << "expected ActorDiedError";
  } catch (const orrery::ActorDiedError& e) {
    EXPECT_THAT(e.what(), HasSubstr("exited"));
  }
}

TEST_F(Actors, AThrowingConstructorFailsCallsWithItsMessage) {
  auto counter = orrery::Actor(ThrowingCounter).SetMaxRestarts(2).Remote("no config file");
  try {
    orrery::Get(counter.Task(&Counter::Get).Remote(), 30'000);
    FAIL() << "expected ActorDiedError";
  } catch (const orrery::ActorDiedError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no config file"));
  }
}

TEST_F(Actors, OwnerDeathKillsItsNonDetachedActors) {
  auto parent = orrery::Actor(Parent::Create).Remote("orphan");
  int child_pid = *orrery::Get(parent.Task(&Parent::ChildPid).Remote());
  auto child = orrery::GetActor<Counter>("orphan");
  ASSERT_TRUE(child.has_value());
  parent.Kill();
  try {
    orrery::Get(child->Task(&Counter::Get).Remote(), 30'000);
    FAIL() << "expected ActorDiedError";
  } catch (const orrery::ActorDiedError& e) {
    EXPECT_THAT(e.what(), HasSubstr("owner died"));
  }
  if (!LocalMode()) {
    EXPECT_TRUE(Eventually([&] { return ProcessGone(child_pid); }));
  }
}

TEST_F(Actors, TheLastHandleGoingEndsAnUnnamedActor) {
  // (Local mode's counterpart: LocalRuntime.TheLastHandleGoingEndsAnUnnamedActor.)
  ORRERY_SKIP_IN_LOCAL_MODE("the actor's process, whose end is what it checks");
  int pid;
  {
    auto counter = orrery::Actor(Counter::Create).Remote(0);
    pid = *orrery::Get(counter.Task(&Counter::Pid).Remote());
  }
  EXPECT_TRUE(Eventually([&] { return ProcessGone(pid); }));
}

TEST_F(Actors, NamesAreUniquePerNamespace) {
  auto a = orrery::Actor(Counter::Create).SetName("shared", "ns-one").Remote(1);
  auto b = orrery::Actor(Counter::Create).SetName("shared", "ns-two").Remote(2);
  auto found = orrery::GetActor<Counter>("shared", "ns-two");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*orrery::Get(found->Task(&Counter::Get).Remote()), 2);
  EXPECT_FALSE(orrery::GetActor<Counter>("shared").has_value()) << "not in the job's namespace";
  EXPECT_FALSE(orrery::GetActor<Counter>("nobody", "ns-one").has_value());
  try {
    orrery::Actor(Counter::Create).SetName("shared", "ns-one").Remote(3);
    FAIL() << "expected a duplicate-name error";
  } catch (const orrery::OrreryException& e) {
    EXPECT_THAT(e.what(), HasSubstr("shared"));
  }
  a.Kill();
  b.Kill();
}

TEST_F(Actors, TheNamespaceIsTheSameInTheDriverTasksAndActors) {
  auto counter = orrery::Actor(Counter::Create).SetName("in-job-namespace").Remote(0);
  EXPECT_EQ(*orrery::Get(counter.Task(&Counter::Namespace).Remote()), orrery::GetNamespace());
  EXPECT_EQ(*orrery::Get(orrery::Task(TaskNamespace).Remote()), orrery::GetNamespace());
  EXPECT_TRUE(orrery::GetActor<Counter>("in-job-namespace").has_value());
  counter.Kill();
}

TEST_F(Actors, AnActorNeedingWhatNoNodeHasStaysPending) {
  auto counter = orrery::Actor(Counter::Create).SetResource("GPU", 1).Remote(0);
  auto ref = counter.Task(&Counter::Get).Remote();
  std::vector<orrery::ObjectRef<int>> refs = {ref};
  auto ready = orrery::Wait(refs, 1, 1000);
  EXPECT_TRUE(ready.ready.empty());
  EXPECT_EQ(ready.unready.size(), 1u);
  counter.Kill();
  EXPECT_THROW(orrery::Get(ref, 30'000), orrery::ActorDiedError);
}

}  // namespace

int main(int argc, char** argv) {
  // In a worker process this serves tasks and never returns.
  orrery::internal::ServeIfWorker();
  setenv("ORRERY_TESTING_CUT_ACTOR_STREAM_EVERY", "2500", /*overwrite=*/0);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
