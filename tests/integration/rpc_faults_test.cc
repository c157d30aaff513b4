// The public API on a local cluster where every process (this driver, the GCS, the raylet, the
// workers, which inherit the environment) loses some of its RPCs: 2 % of requests dropped
// before they are sent and 2 % of replies dropped after the server applied the call, on every
// method (ORRERY_TESTING_RPC_FAILURE, src/rpc/fault_injection.h). Calls are retried under
// their request ids and repeats are answered from the servers' replay caches, so every result
// is right and every actor call runs once, in order.
#include <stdlib.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orrery/api.h"
#include "local_cluster_suite.h"

int Square(int x) { return x * x; }
int SumOfSquares(int n) {
  std::vector<orrery::ObjectRef<int>> squares;
  for (int i = 0; i < n; ++i) squares.push_back(orrery::Task(Square).Remote(i));
  int sum = 0;
  for (const auto& square : orrery::Get(squares)) sum += *square;
  return sum;
}

class Counter {
 public:
  static Counter* Create(int start) { return new Counter(start); }
  explicit Counter(int start) : count_(start) {}
  int Add(int x) { return count_ += x; }

 private:
  int count_;
};

ORRERY_REMOTE(Square, SumOfSquares, Counter::Create, &Counter::Add);

namespace {

std::string g_root;

class RpcFaults : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { g_root = orrery::testing::InitLocalCluster(); }
  static void TearDownTestSuite() { orrery::testing::ShutdownLocalCluster(g_root); }
};

TEST_F(RpcFaults, TasksNestedTasksAndObjectsGiveTheRightResults) {
  std::vector<orrery::ObjectRef<int>> sums;
  for (int i = 0; i < 20; ++i) sums.push_back(orrery::Task(SumOfSquares).Remote(10));
  for (auto& sum : sums) EXPECT_EQ(*orrery::Get(sum), 285);
  std::vector<int> big(1 << 20, 7);
  auto stored = orrery::Put(big);
  EXPECT_EQ(orrery::Get(stored)->size(), big.size());
}

TEST_F(RpcFaults, ActorsAreCreatedOnceAndEachCallRunsOnceInOrder) {
  std::vector<orrery::ActorHandle<Counter>> counters;
  for (int i = 0; i < 4; ++i) counters.push_back(orrery::Actor(Counter::Create).Remote(i * 1000));
  for (int round = 1; round <= 200; ++round) {
    for (int i = 0; i < 4; ++i) {
      ASSERT_EQ(*orrery::Get(counters[i].Task(&Counter::Add).Remote(1)), i * 1000 + round) << "actor " << i;
    }
  }
  auto named = orrery::Actor(Counter::Create).SetName("faulty-but-found").Remote(5);
  auto found = orrery::GetActor<Counter>("faulty-but-found");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*orrery::Get(found->Task(&Counter::Add).Remote(1)), 6);
}

}  // namespace

int main(int argc, char** argv) {
  // In a worker process this serves tasks and never returns.
  orrery::internal::ServeIfWorker();
  setenv("ORRERY_TESTING_RPC_FAILURE", "*=-1:2:2", /*overwrite=*/0);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
