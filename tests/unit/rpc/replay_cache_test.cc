// ReplayCache (src/rpc/replay_cache.h): a retried request id is answered, not applied twice.
#include "src/rpc/replay_cache.h"

#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/common/clock.h"
#include "tests/testing/status_matchers.h"

namespace orrery::rpc {
namespace {

using ::orrery::testing::StatusIs;
using Outcome = ReplayCache::Outcome;

// Collects what a waiter was given.
struct Recorder {
  std::vector<Outcome> got;
  ReplayCache::Waiter Waiter() {
    return [this](const Outcome& outcome) { got.push_back(outcome); };
  }
};

ReplayCache::Waiter Unexpected() {
  return [](const Outcome&) { ADD_FAILURE() << "a new key must not call its waiter"; };
}

Outcome Ok(const std::string& reply) { return Outcome{absl::OkStatus(), reply}; }

TEST(ReplayCacheTest, TheFirstBeginOfAKeyRunsTheCall) {
  ReplayCache cache;
  EXPECT_TRUE(cache.Begin("a", Unexpected()));
  EXPECT_TRUE(cache.Begin("b", Unexpected())) << "keys are independent";
  EXPECT_EQ(cache.size(), 2u);
}

TEST(ReplayCacheTest, ARetryWhileInFlightWaitsForTheFirstOutcome) {
  ReplayCache cache;
  ASSERT_TRUE(cache.Begin("a", Unexpected()));
  Recorder retry1, retry2;
  EXPECT_FALSE(cache.Begin("a", retry1.Waiter()));
  EXPECT_FALSE(cache.Begin("a", retry2.Waiter()));
  EXPECT_TRUE(retry1.got.empty()) << "nothing to answer before the first call completes";

  cache.Complete("a", Ok("reply-bytes"));
  ASSERT_EQ(retry1.got.size(), 1u);
  ASSERT_EQ(retry2.got.size(), 1u);
  EXPECT_OK(retry1.got[0].status);
  EXPECT_EQ(retry1.got[0].reply_bytes, "reply-bytes");
  EXPECT_EQ(retry2.got[0].reply_bytes, "reply-bytes");
}

TEST(ReplayCacheTest, ARetryAfterCompletionGetsTheStoredOutcomeAtOnce) {
  ReplayCache cache;
  ASSERT_TRUE(cache.Begin("a", Unexpected()));
  cache.Complete("a", Ok("first"));
  Recorder retry;
  EXPECT_FALSE(cache.Begin("a", retry.Waiter()));
  ASSERT_EQ(retry.got.size(), 1u);
  EXPECT_EQ(retry.got[0].reply_bytes, "first");
}

TEST(ReplayCacheTest, APermanentErrorIsKeptAndReplayed) {
  ReplayCache cache;
  ASSERT_TRUE(cache.Begin("a", Unexpected()));
  cache.Complete("a", Outcome{absl::InvalidArgumentError("bad request"), ""});
  Recorder retry;
  EXPECT_FALSE(cache.Begin("a", retry.Waiter()));
  ASSERT_EQ(retry.got.size(), 1u);
  EXPECT_THAT(retry.got[0].status, StatusIs(absl::StatusCode::kInvalidArgument, "bad request"));
}

TEST(ReplayCacheTest, TransientFailuresAreNotKeptSoTheRetryRunsAgain) {
  for (absl::Status transient : {absl::UnavailableError("down"), absl::DeadlineExceededError("slow"),
                                 absl::AbortedError("conflict")}) {
    SCOPED_TRACE(transient.ToString());
    ReplayCache cache;
    ASSERT_TRUE(cache.Begin("a", Unexpected()));
    Recorder waiting;
    ASSERT_FALSE(cache.Begin("a", waiting.Waiter()));
    cache.Complete("a", Outcome{transient, ""});
    ASSERT_EQ(waiting.got.size(), 1u) << "callers already waiting still hear of the failure";
    EXPECT_EQ(waiting.got[0].status.code(), transient.code());
    EXPECT_EQ(cache.size(), 0u);
    EXPECT_TRUE(cache.Begin("a", Unexpected())) << "the next attempt runs the call again";
  }
}

TEST(ReplayCacheTest, CompletingAnUnknownKeyIsHarmless) {
  ReplayCache cache;
  cache.Complete("never-begun", Ok("x"));
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_TRUE(cache.Begin("never-begun", Unexpected()));
}

TEST(ReplayCacheTest, TheOldestCompletedEntriesAreEvictedBeyondMaxEntries) {
  ReplayCache cache(/*max_entries=*/2, /*ttl_ms=*/60'000);
  for (const char* key : {"a", "b", "c"}) {
    ASSERT_TRUE(cache.Begin(key, Unexpected()));
    cache.Complete(key, Ok(key));
  }
  // "a" is the oldest of three completed entries and goes at the next Begin.
  EXPECT_TRUE(cache.Begin("a", Unexpected())) << "an evicted key runs again";
  Recorder b, c;
  EXPECT_FALSE(cache.Begin("b", b.Waiter()));
  EXPECT_FALSE(cache.Begin("c", c.Waiter()));
  ASSERT_EQ(b.got.size(), 1u);
  EXPECT_EQ(b.got[0].reply_bytes, "b");
  ASSERT_EQ(c.got.size(), 1u);
  EXPECT_EQ(c.got[0].reply_bytes, "c");
}

TEST(ReplayCacheTest, CallsInFlightAreNeverEvicted) {
  ReplayCache cache(/*max_entries=*/1, /*ttl_ms=*/0);
  ASSERT_TRUE(cache.Begin("in-flight", Unexpected()));
  for (const char* key : {"a", "b", "c"}) {
    ASSERT_TRUE(cache.Begin(key, Unexpected()));
    cache.Complete(key, Ok(key));
  }
  Recorder retry;
  EXPECT_FALSE(cache.Begin("in-flight", retry.Waiter())) << "still in flight: the retry must wait";
  cache.Complete("in-flight", Ok("done"));
  ASSERT_EQ(retry.got.size(), 1u);
  EXPECT_EQ(retry.got[0].reply_bytes, "done");
}

TEST(ReplayCacheTest, EntriesExpireAfterTheTtl) {
  ReplayCache cache(/*max_entries=*/100, /*ttl_ms=*/0);
  ASSERT_TRUE(cache.Begin("a", Unexpected()));
  cache.Complete("a", Ok("a"));
  EXPECT_EQ(cache.size(), 1u);
  // Expiry is measured on the monotonic clock: let it move past the completion time.
  const int64_t completed = MonotonicMs();
  while (MonotonicMs() <= completed) {
  }
  EXPECT_TRUE(cache.Begin("a", Unexpected())) << "an expired entry runs again";
  EXPECT_EQ(cache.size(), 1u) << "the expired entry was replaced by the new call";
}

TEST(ReplayCacheTest, EntriesWithinTheTtlAreKept) {
  ReplayCache cache(/*max_entries=*/100, /*ttl_ms=*/60'000);
  ASSERT_TRUE(cache.Begin("a", Unexpected()));
  cache.Complete("a", Ok("a"));
  Recorder retry;
  EXPECT_FALSE(cache.Begin("a", retry.Waiter()));
  EXPECT_EQ(retry.got.size(), 1u);
}

}  // namespace
}  // namespace orrery::rpc
