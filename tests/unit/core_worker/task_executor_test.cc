// TaskExecutor's actor creation against what a peer may send: a CreateActorRequest comes from
// the GCS, which passes on what the actor's owner asked for.
#include "src/core_worker/task_executor.h"

#include <atomic>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orrery/actor.h"
#include "orrery/internal/function_registry.h"

namespace orrery::core {
namespace {

using ::testing::HasSubstr;

constexpr char kFactory[] = "task_executor_test::MakeActor";
std::atomic<int> g_actors_made = 0;

// An actor factory, registered by hand: the executor finds it by name, as in a worker.
void RegisterFactory() {
  static const bool registered = [] {
    internal::RemoteFunction factory;
    factory.name = kFactory;
    factory.kind = internal::FunctionKind::kActorFactory;
    factory.create = [](const internal::Args&) -> void* {
      static int instance = 0;
      ++g_actors_made;
      return &instance;  // an executor never deletes its actor (the process ends with it)
    };
    internal::FunctionRegistry::Instance().Register(std::move(factory), kFactory);
    return true;
  }();
  (void)registered;
}

rpc::CreateActorRequest Creation(int max_concurrency) {
  rpc::CreateActorRequest request;
  request.mutable_creation()->set_function_name(kFactory);
  request.mutable_creation()->set_actor_id(ActorId::FromRandom().Binary());
  request.set_max_concurrency(max_concurrency);
  return request;
}

TaskExecutor::Hooks Hooks() {
  TaskExecutor::Hooks hooks;
  hooks.resolve_args = [](const rpc::TaskSpec&) { return std::vector<Value>(); };
  hooks.set_current_task = [](const rpc::TaskSpec*) {};
  return hooks;
}

// Regression (issue 23): the executor started a thread per unit of max_concurrency, without
// bound, for whatever number a request carried.
TEST(TaskExecutorTest, AnActorAskingForMoreConcurrencyThanTheBoundIsRefusedBeforeItsFactoryRuns) {
  RegisterFactory();
  g_actors_made = 0;
  TaskExecutor executor(WorkerId::FromRandom(), NodeId::FromRandom(), Hooks());
  rpc::CreateActorReply reply = executor.CreateActor(Creation(kMaxActorConcurrency + 1));
  ASSERT_TRUE(reply.failed());
  EXPECT_EQ(reply.error().type(), rpc::ErrorInfo::ACTOR_DIED);
  EXPECT_THAT(reply.error().message(), HasSubstr("max_concurrency"));
  EXPECT_THAT(reply.error().message(), HasSubstr(std::to_string(kMaxActorConcurrency)));
  EXPECT_EQ(g_actors_made, 0);
  EXPECT_EQ(executor.actor_restarts(), -1);  // it holds no actor
}

TEST(TaskExecutorTest, AnActorWithinTheBoundIsCreated) {
  RegisterFactory();
  g_actors_made = 0;
  TaskExecutor executor(WorkerId::FromRandom(), NodeId::FromRandom(), Hooks());
  rpc::CreateActorReply reply = executor.CreateActor(Creation(4));
  EXPECT_FALSE(reply.failed()) << reply.error().message();
  EXPECT_EQ(g_actors_made, 1);
}

}  // namespace
}  // namespace orrery::core
