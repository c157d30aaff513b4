// StoreClientContract: what every StoreClient backend must do (store_client.h), as one
// value-parameterized suite that each backend's test instantiates with a factory.
//
//   StoreClientFactory MemoryFactory() {
//     StoreClientFactory f;
//     f.name = "InMemory";
//     f.make = [](StoreClient::Dispatcher dispatcher) -> std::unique_ptr<StoreClient> {
//       return std::make_unique<InMemoryStoreClient>(std::move(dispatcher));
//     };
//     return f;
//   }
//   INSTANTIATE_TEST_SUITE_P(InMemory, StoreClientContract, ::testing::Values(MemoryFactory()),
//                            StoreClientFactoryName);
//
// For each test: setup() if set (it may GTEST_SKIP() or fail: the test then does not run), then
// make(dispatcher) for a fresh, EMPTY store, the test, the store destroyed, what its destruction
// posted run, then teardown() if set (also after a failed or skipped setup). make() answers
// nullptr (after ADD_FAILURE() saying why) when it cannot make one.
//
// Calls are made on a TestEventLoop's thread, as the GCS loop makes them; every callback must
// come back through the dispatcher onto that thread, once. Waits are on futures and counters
// with a generous timeout (a hung backend fails the test, it does not hang it); nothing sleeps.
//
// Defines tests: include it in exactly one .cc of a test binary.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "src/gcs/storage/store_client.h"

namespace orrery::gcs {

// How a contract test gets a store of one backend.
struct StoreClientFactory {
  // The test-name suffix: letters, digits and underscores only.
  std::string name;
  // A fresh, empty store answering through `dispatcher`. Required.
  std::function<std::unique_ptr<StoreClient>(StoreClient::Dispatcher)> make;
  // Optional, before make(): e.g. a fresh directory, a server, or GTEST_SKIP() without one.
  std::function<void()> setup;
  // Optional, after the store is gone: remove what setup() made.
  std::function<void()> teardown;
};

inline void PrintTo(const StoreClientFactory& factory, std::ostream* os) { *os << factory.name; }

// For INSTANTIATE_TEST_SUITE_P's name generator argument.
inline std::string StoreClientFactoryName(const ::testing::TestParamInfo<StoreClientFactory>& info) {
  return info.param.name;
}

inline constexpr absl::Duration kStoreCallbackTimeout = absl::Seconds(30);

// An event loop on a thread of its own: runs what is posted, one at a time, in order. Stands in
// for the GCS loop. Destruction runs what was posted before it, then stops.
class TestEventLoop {
 public:
  TestEventLoop() : thread_([this] { Run(); }) {}
  ~TestEventLoop() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    thread_.join();
  }
  TestEventLoop(const TestEventLoop&) = delete;
  TestEventLoop& operator=(const TestEventLoop&) = delete;

  void Post(std::function<void()> fn) {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(fn));
  }
  StoreClient::Dispatcher dispatcher() {
    return [this](std::function<void()> fn) { Post(std::move(fn)); };
  }
  bool InLoop() const { return std::this_thread::get_id() == thread_.get_id(); }

  // Runs `fn` on the loop and waits until it has run (and so has everything posted before it).
  // False when it did not run within kStoreCallbackTimeout.
  bool RunSync(std::function<void()> fn) {
    auto ran = std::make_shared<std::promise<void>>();
    std::future<void> done = ran->get_future();
    Post([fn = std::move(fn), ran] {
      fn();
      ran->set_value();
    });
    return done.wait_for(absl::ToChronoSeconds(kStoreCallbackTimeout)) == std::future_status::ready;
  }
  bool Drain() {
    return RunSync([] {});
  }

 private:
  void Run() {
    while (true) {
      std::function<void()> fn;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &TestEventLoop::Ready));
        if (queue_.empty()) return;  // stopping, and nothing left
        fn = std::move(queue_.front());
        queue_.pop_front();
      }
      fn();
    }
  }
  bool Ready() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty() || stopping_; }

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // Last: starts once the rest is built.
};

// Counts callbacks; Wait() returns once `n` have come.
class CallbackCountdown {
 public:
  explicit CallbackCountdown(int n) : left_(n) {}
  void Done() {
    absl::MutexLock lock(&mu_);
    --left_;
  }
  // False (and a test failure) when they did not all come in time.
  bool Wait() {
    absl::MutexLock lock(&mu_);
    auto all_came = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return left_ <= 0; };
    bool ok = mu_.AwaitWithTimeout(absl::Condition(&all_came), kStoreCallbackTimeout);
    if (!ok) ADD_FAILURE() << left_ << " callbacks never came";
    if (left_ < 0) ADD_FAILURE() << -left_ << " callbacks more than calls";
    return ok && left_ == 0;
  }

 private:
  absl::Mutex mu_;
  int left_ ABSL_GUARDED_BY(mu_);
};

// A StoreClient called the blocking way, for tests: each call is made on the loop and waits for
// its callback. A callback that never comes answers DeadlineExceeded (and fails the test).
class BlockingStore {
 public:
  BlockingStore(TestEventLoop& loop, StoreClient& store) : loop_(loop), store_(store) {}

  absl::StatusOr<bool> Put(std::string table, std::string key, std::string value, bool overwrite = true) {
    return Call<bool>(
        [=, this](StoreClient::Callback<bool> done) { store_.Put(table, key, value, overwrite, std::move(done)); });
  }
  absl::StatusOr<std::optional<std::string>> Get(std::string table, std::string key) {
    return Call<std::optional<std::string>>(
        [=, this](StoreClient::Callback<std::optional<std::string>> done) { store_.Get(table, key, std::move(done)); });
  }
  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> GetAll(std::string table) {
    return Call<absl::flat_hash_map<std::string, std::string>>(
        [=, this](StoreClient::Callback<absl::flat_hash_map<std::string, std::string>> done) {
          store_.GetAll(table, std::move(done));
        });
  }
  absl::StatusOr<int64_t> Delete(std::string table, std::string key) {
    return Call<int64_t>(
        [=, this](StoreClient::Callback<int64_t> done) { store_.Delete(table, key, std::move(done)); });
  }
  absl::StatusOr<int64_t> DeleteByPrefix(std::string table, std::string prefix) {
    return Call<int64_t>(
        [=, this](StoreClient::Callback<int64_t> done) { store_.DeleteByPrefix(table, prefix, std::move(done)); });
  }
  absl::StatusOr<std::vector<std::string>> Keys(std::string table, std::string prefix) {
    return Call<std::vector<std::string>>([=, this](StoreClient::Callback<std::vector<std::string>> done) {
      store_.Keys(table, prefix, std::move(done));
    });
  }
  absl::StatusOr<bool> Exists(std::string table, std::string key) {
    return Call<bool>([=, this](StoreClient::Callback<bool> done) { store_.Exists(table, key, std::move(done)); });
  }

  // Puts every row (overwriting) without waiting between calls, then waits for all.
  bool PutAll(const std::string& table, const std::map<std::string, std::string>& rows) {
    auto countdown = std::make_shared<CallbackCountdown>(static_cast<int>(rows.size()));
    loop_.Post([this, table, rows, countdown] {
      for (const auto& [key, value] : rows) {
        store_.Put(table, key, value, true, [countdown, key = key](absl::StatusOr<bool> r) {
          EXPECT_TRUE(r.ok()) << "put " << absl::CHexEscape(key) << ": " << r.status();
          countdown->Done();
        });
      }
    });
    return countdown->Wait();
  }

 private:
  template <typename T>
  absl::StatusOr<T> Call(std::function<void(StoreClient::Callback<T>)> call) {
    struct Answer {
      std::promise<absl::StatusOr<T>> promise;
      std::atomic<int> calls{0};
    };
    auto answer = std::make_shared<Answer>();
    std::future<absl::StatusOr<T>> future = answer->promise.get_future();
    loop_.Post([call = std::move(call), answer] {
      call([answer](absl::StatusOr<T> result) {
        if (answer->calls.fetch_add(1) > 0) {
          ADD_FAILURE() << "a callback ran twice";
          return;
        }
        answer->promise.set_value(std::move(result));
      });
    });
    if (future.wait_for(absl::ToChronoSeconds(kStoreCallbackTimeout)) != std::future_status::ready) {
      ADD_FAILURE() << "no callback within " << kStoreCallbackTimeout;
      return absl::DeadlineExceededError("no callback");
    }
    return future.get();
  }

  TestEventLoop& loop_;
  StoreClient& store_;
};

class StoreClientContract : public ::testing::TestWithParam<StoreClientFactory> {
 protected:
  void SetUp() override {
    const StoreClientFactory& factory = GetParam();
    if (factory.setup) factory.setup();
    if (HasFatalFailure() || IsSkipped()) return;
    store_ = factory.make(loop_.dispatcher());
    ASSERT_NE(store_, nullptr) << factory.name << ": make() gave no store";
    blocking_ = std::make_unique<BlockingStore>(loop_, *store_);
  }
  void TearDown() override {
    blocking_.reset();
    store_.reset();
    EXPECT_TRUE(loop_.Drain());
    if (GetParam().teardown) GetParam().teardown();
  }

  StoreClient& store() { return *store_; }
  BlockingStore& blocking() { return *blocking_; }

  TestEventLoop loop_;
  std::unique_ptr<StoreClient> store_;
  std::unique_ptr<BlockingStore> blocking_;
};

namespace contract_internal {

inline std::string Bytes(const char* data, size_t size) { return std::string(data, size); }

// Keys that a text-minded backend gets wrong: NUL bytes, 0xFF bytes, keys that are prefixes of
// one another, and neighbours just outside a prefix's range.
inline std::vector<std::string> BinaryKeys() {
  return {
      "a",  "aa\xff", "ab",   Bytes("ab\0", 3), Bytes("ab\0x", 4), "ab\x01",          "ab\xff", "ab\xff\xff",
      "ac", "b",      "\xff", "\xff\xff",       Bytes("\0", 1),    Bytes("\0\0b", 3), "a*",     "a?[b]",
  };
}

// Prefixes at the edges: empty (every key), a NUL, 0xFF ends (no next prefix), glob characters,
// and ones that match nothing.
inline std::vector<std::string> BinaryPrefixes() {
  return {"", "a", "ab", Bytes("ab\0", 3), "ab\xff", "\xff", "\xff\xff\xff", Bytes("\0", 1), "abc", "a*", "a?", "*"};
}

inline std::set<std::string> WithPrefix(const std::vector<std::string>& keys, const std::string& prefix) {
  std::set<std::string> out;
  for (const std::string& key : keys) {
    if (absl::StartsWith(key, prefix)) out.insert(key);
  }
  return out;
}

inline std::string Escaped(const std::string& bytes) { return absl::StrCat("'", absl::CHexEscape(bytes), "'"); }

inline std::set<std::string> AsSet(const absl::StatusOr<std::vector<std::string>>& keys) {
  if (!keys.ok()) return {};
  return std::set<std::string>(keys->begin(), keys->end());
}

}  // namespace contract_internal

TEST_P(StoreClientContract, PutThenGetRoundTrips) {
  EXPECT_EQ(blocking().Put("t", "k", "v"), absl::StatusOr<bool>(true));
  EXPECT_EQ(blocking().Get("t", "k"), absl::StatusOr<std::optional<std::string>>("v"));

  std::string binary = contract_internal::Bytes("\0v\xff\0", 4);
  EXPECT_EQ(blocking().Put("t", "binary", binary), absl::StatusOr<bool>(true));
  EXPECT_EQ(blocking().Get("t", "binary"), absl::StatusOr<std::optional<std::string>>(binary));

  EXPECT_EQ(blocking().Put("t", "empty", ""), absl::StatusOr<bool>(true));
  EXPECT_EQ(blocking().Get("t", "empty"), absl::StatusOr<std::optional<std::string>>(""));

  std::string large(1 << 20, 'x');
  for (size_t i = 0; i < large.size(); i += 4096) large[i] = static_cast<char>(i / 4096);
  EXPECT_EQ(blocking().Put("t", "large", large), absl::StatusOr<bool>(true));
  absl::StatusOr<std::optional<std::string>> got = blocking().Get("t", "large");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_TRUE(**got == large) << "a 1 MiB value came back different";
}

TEST_P(StoreClientContract, GetOfAMissingKeyOrTableIsAbsent) {
  using Absent = absl::StatusOr<std::optional<std::string>>;
  EXPECT_EQ(blocking().Get("never-written", "k"), Absent(std::nullopt));
  ASSERT_TRUE(blocking().Put("t", "k", "v").ok());
  EXPECT_EQ(blocking().Get("t", "other"), Absent(std::nullopt));
  EXPECT_EQ(blocking().Get("t", contract_internal::Bytes("k\0", 2)), Absent(std::nullopt));
  EXPECT_EQ(blocking().Get("t", "K"), Absent(std::nullopt));
}

TEST_P(StoreClientContract, PutAnswersWhetherTheKeyIsNew) {
  EXPECT_EQ(blocking().Put("t", "k", "v1"), absl::StatusOr<bool>(true));
  EXPECT_EQ(blocking().Put("t", "k", "v2"), absl::StatusOr<bool>(false));
  EXPECT_EQ(blocking().Get("t", "k"), absl::StatusOr<std::optional<std::string>>("v2"));
  EXPECT_EQ(blocking().Put("t", "k2", "v"), absl::StatusOr<bool>(true));
}

TEST_P(StoreClientContract, PutWithoutOverwriteKeepsTheValueAndAnswersFalse) {
  EXPECT_EQ(blocking().Put("t", "k", "first", /*overwrite=*/false), absl::StatusOr<bool>(true));
  EXPECT_EQ(blocking().Get("t", "k"), absl::StatusOr<std::optional<std::string>>("first"));
  EXPECT_EQ(blocking().Put("t", "k", "second", /*overwrite=*/false), absl::StatusOr<bool>(false));
  EXPECT_EQ(blocking().Get("t", "k"), absl::StatusOr<std::optional<std::string>>("first"));
  EXPECT_EQ(blocking().Put("t", "k", "third", /*overwrite=*/true), absl::StatusOr<bool>(false));
  EXPECT_EQ(blocking().Get("t", "k"), absl::StatusOr<std::optional<std::string>>("third"));
}

TEST_P(StoreClientContract, DeleteAnswersHowManyKeysItDeleted) {
  EXPECT_EQ(blocking().Delete("never-written", "k"), absl::StatusOr<int64_t>(0));
  ASSERT_TRUE(blocking().Put("t", "k", "v").ok());
  ASSERT_TRUE(blocking().Put("t", "k2", "v").ok());
  EXPECT_EQ(blocking().Delete("t", "missing"), absl::StatusOr<int64_t>(0));
  EXPECT_EQ(blocking().Delete("t", "k"), absl::StatusOr<int64_t>(1));
  EXPECT_EQ(blocking().Delete("t", "k"), absl::StatusOr<int64_t>(0));
  EXPECT_EQ(blocking().Get("t", "k"), absl::StatusOr<std::optional<std::string>>(std::nullopt));
  EXPECT_EQ(blocking().Get("t", "k2"), absl::StatusOr<std::optional<std::string>>("v"));
  // Deleted means gone: a put of it is new again.
  EXPECT_EQ(blocking().Put("t", "k", "again"), absl::StatusOr<bool>(true));
}

TEST_P(StoreClientContract, KeysMatchThePrefixAsBytes) {
  using contract_internal::Escaped;
  const std::vector<std::string> keys = contract_internal::BinaryKeys();
  std::map<std::string, std::string> rows;
  for (const std::string& key : keys) rows[key] = "v" + key;
  ASSERT_TRUE(blocking().PutAll("t", rows));
  EXPECT_EQ(contract_internal::AsSet(blocking().Keys("t", "")).size(), keys.size());
  EXPECT_EQ(contract_internal::AsSet(blocking().Keys("t", "ab")).size(), 6u);
  for (const std::string& prefix : contract_internal::BinaryPrefixes()) {
    absl::StatusOr<std::vector<std::string>> got = blocking().Keys("t", prefix);
    ASSERT_TRUE(got.ok()) << "prefix " << Escaped(prefix) << ": " << got.status();
    EXPECT_EQ(got->size(), contract_internal::AsSet(got).size()) << "a key twice, prefix " << Escaped(prefix);
    EXPECT_EQ(contract_internal::AsSet(got), contract_internal::WithPrefix(keys, prefix))
        << "prefix " << Escaped(prefix);
  }
  EXPECT_EQ(blocking().Keys("never-written", ""), absl::StatusOr<std::vector<std::string>>(std::vector<std::string>{}));
}

TEST_P(StoreClientContract, DeleteByPrefixDeletesThePrefixAsBytes) {
  using contract_internal::Escaped;
  const std::vector<std::string> keys = contract_internal::BinaryKeys();
  std::map<std::string, std::string> rows;
  for (const std::string& key : keys) rows[key] = "v";
  const std::vector<std::string> prefixes = contract_internal::BinaryPrefixes();
  for (size_t i = 0; i < prefixes.size(); ++i) {
    const std::string& prefix = prefixes[i];
    std::string table = absl::StrCat("t", i);
    ASSERT_TRUE(blocking().PutAll(table, rows));
    std::set<std::string> doomed = contract_internal::WithPrefix(keys, prefix);
    EXPECT_EQ(blocking().DeleteByPrefix(table, prefix), absl::StatusOr<int64_t>(static_cast<int64_t>(doomed.size())))
        << "prefix " << Escaped(prefix);
    std::set<std::string> left;
    for (const std::string& key : keys) {
      if (doomed.count(key) == 0) left.insert(key);
    }
    EXPECT_EQ(contract_internal::AsSet(blocking().Keys(table, "")), left) << "prefix " << Escaped(prefix);
    EXPECT_EQ(blocking().DeleteByPrefix(table, prefix), absl::StatusOr<int64_t>(0)) << "prefix " << Escaped(prefix);
  }
  EXPECT_EQ(blocking().DeleteByPrefix("never-written", ""), absl::StatusOr<int64_t>(0));
}

TEST_P(StoreClientContract, GetAllReturnsEveryRow) {
  using Rows = absl::flat_hash_map<std::string, std::string>;
  EXPECT_EQ(blocking().GetAll("never-written"), absl::StatusOr<Rows>(Rows{}));
  std::map<std::string, std::string> rows;
  for (const std::string& key : contract_internal::BinaryKeys()) rows[key] = contract_internal::Bytes("\0", 1) + key;
  ASSERT_TRUE(blocking().PutAll("t", rows));
  EXPECT_EQ(blocking().GetAll("t"), absl::StatusOr<Rows>(Rows(rows.begin(), rows.end())));

  // Enough rows that a backend reading them in pages must turn pages.
  std::map<std::string, std::string> many;
  for (int i = 0; i < 2000; ++i) many[absl::StrCat("row", i)] = absl::StrCat("value", i);
  ASSERT_TRUE(blocking().PutAll("many", many));
  EXPECT_EQ(blocking().GetAll("many"), absl::StatusOr<Rows>(Rows(many.begin(), many.end())));
  EXPECT_EQ(contract_internal::AsSet(blocking().Keys("many", "row1")).size(), 1111u);
  EXPECT_EQ(blocking().DeleteByPrefix("many", ""), absl::StatusOr<int64_t>(2000));
  EXPECT_EQ(blocking().GetAll("many"), absl::StatusOr<Rows>(Rows{}));
}

TEST_P(StoreClientContract, ExistsAnswersWhetherTheKeyIsThere) {
  EXPECT_EQ(blocking().Exists("never-written", "k"), absl::StatusOr<bool>(false));
  ASSERT_TRUE(blocking().Put("t", "k", "").ok());
  EXPECT_EQ(blocking().Exists("t", "k"), absl::StatusOr<bool>(true)) << "an empty value is still a row";
  EXPECT_EQ(blocking().Exists("t", "k2"), absl::StatusOr<bool>(false));
  ASSERT_TRUE(blocking().Delete("t", "k").ok());
  EXPECT_EQ(blocking().Exists("t", "k"), absl::StatusOr<bool>(false));
}

TEST_P(StoreClientContract, TablesAreIsolatedFromEachOther) {
  using Rows = absl::flat_hash_map<std::string, std::string>;
  // Names that collide if a backend joins table and key with a separator.
  ASSERT_TRUE(blocking().Put("a", "b:c", "1").ok());
  ASSERT_TRUE(blocking().Put("a:b", "c", "2").ok());
  ASSERT_TRUE(blocking().Put("a", "k", "3").ok());
  EXPECT_EQ(blocking().Put("ab", "k", "4"), absl::StatusOr<bool>(true)) << "same key, another table";
  EXPECT_EQ(blocking().Get("a", "k"), absl::StatusOr<std::optional<std::string>>("3"));
  EXPECT_EQ(blocking().Get("a:b", "b:c"), absl::StatusOr<std::optional<std::string>>(std::nullopt));
  EXPECT_EQ(blocking().Exists("a:b", "k"), absl::StatusOr<bool>(false));
  EXPECT_EQ(blocking().GetAll("a"), absl::StatusOr<Rows>(Rows{{"b:c", "1"}, {"k", "3"}}));
  EXPECT_EQ(blocking().GetAll("a:b"), absl::StatusOr<Rows>(Rows{{"c", "2"}}));
  EXPECT_EQ(contract_internal::AsSet(blocking().Keys("a", "")), (std::set<std::string>{"b:c", "k"}));

  EXPECT_EQ(blocking().Delete("a:b", "k"), absl::StatusOr<int64_t>(0));
  EXPECT_EQ(blocking().DeleteByPrefix("a", ""), absl::StatusOr<int64_t>(2));
  EXPECT_EQ(blocking().GetAll("a:b"), absl::StatusOr<Rows>(Rows{{"c", "2"}}));
  EXPECT_EQ(blocking().GetAll("ab"), absl::StatusOr<Rows>(Rows{{"k", "4"}}));
}

// Every call answers through the dispatcher after the call returned, on the loop, once.
TEST_P(StoreClientContract, CallbacksNeverRunInsideTheCall) {
  constexpr int kCalls = 7 * 2;
  // Shared with the callbacks, which may outlive a failed test.
  auto countdown = std::make_shared<CallbackCountdown>(kCalls);
  auto returned = std::make_shared<bool>(false);  // Touched on the loop only.
  TestEventLoop* loop = &loop_;
  auto check = [loop, returned, countdown](const char* what) {
    EXPECT_TRUE(*returned) << what << "'s callback ran inside the call";
    EXPECT_TRUE(loop->InLoop()) << what << "'s callback ran off the loop";
    countdown->Done();
  };
  StoreClient* store = store_.get();
  loop_.Post([store, returned, check] {
    // Twice: on a table that does not exist yet, then on one that does.
    for (int round = 0; round < 2; ++round) {
      store->Put("t", "k", "v", true, [check](absl::StatusOr<bool>) { check("Put"); });
      store->Get("t", "k", [check](absl::StatusOr<std::optional<std::string>>) { check("Get"); });
      store->GetAll("t", [check](absl::StatusOr<absl::flat_hash_map<std::string, std::string>>) { check("GetAll"); });
      store->Exists("t", "k", [check](absl::StatusOr<bool>) { check("Exists"); });
      store->Keys("t", "", [check](absl::StatusOr<std::vector<std::string>>) { check("Keys"); });
      store->Delete("u", "k", [check](absl::StatusOr<int64_t>) { check("Delete"); });
      store->DeleteByPrefix("u", "", [check](absl::StatusOr<int64_t>) { check("DeleteByPrefix"); });
    }
    *returned = true;
  });
  EXPECT_TRUE(countdown->Wait());
}

TEST_P(StoreClientContract, CallbacksRunInCallOrder) {
  constexpr int kRounds = 100;
  constexpr int kPerRound = 5;
  struct Record {
    explicit Record(int n) : countdown(n) {}
    CallbackCountdown countdown;
    absl::Mutex mu;
    std::vector<int> order ABSL_GUARDED_BY(mu);
    void Add(int n) {
      {
        absl::MutexLock lock(&mu);
        order.push_back(n);
      }
      countdown.Done();
    }
  };
  auto record = std::make_shared<Record>(kRounds * kPerRound);
  StoreClient* store = store_.get();
  loop_.Post([store, record] {
    for (int i = 0; i < kRounds; ++i) {
      int n = i * kPerRound;
      std::string key = absl::StrCat("k", i % 7);  // Rounds share keys: later calls depend on earlier ones.
      store->Put("t", key, absl::StrCat(i), true, [record, n](absl::StatusOr<bool>) { record->Add(n); });
      store->Get("t", key, [record, n, i](absl::StatusOr<std::optional<std::string>> r) {
        EXPECT_EQ(r, absl::StatusOr<std::optional<std::string>>(absl::StrCat(i)));
        record->Add(n + 1);
      });
      store->Exists("other", key, [record, n](absl::StatusOr<bool>) { record->Add(n + 2); });
      store->Keys("t", "k", [record, n](absl::StatusOr<std::vector<std::string>>) { record->Add(n + 3); });
      if (i % 3 == 0) {
        store->Delete("t", key, [record, n](absl::StatusOr<int64_t>) { record->Add(n + 4); });
      } else {
        store->GetAll(
            "t", [record, n](absl::StatusOr<absl::flat_hash_map<std::string, std::string>>) { record->Add(n + 4); });
      }
    }
  });
  ASSERT_TRUE(record->countdown.Wait());
  absl::MutexLock lock(&record->mu);
  ASSERT_EQ(record->order.size(), static_cast<size_t>(kRounds * kPerRound));
  for (int i = 0; i < static_cast<int>(record->order.size()); ++i) {
    ASSERT_EQ(record->order[i], i) << "callback " << record->order[i] << " ran in place " << i;
  }
}

// A read sees every write called before it, even when nothing waited for the write's answer.
TEST_P(StoreClientContract, ReadsSeeWritesCalledJustBefore) {
  using Opt = std::optional<std::string>;
  using Rows = absl::flat_hash_map<std::string, std::string>;
  using Strings = std::vector<std::string>;
  // What came back, checked on the test thread (shared: callbacks may outlive a failed test).
  struct Answers {
    absl::Mutex mu;
    std::vector<std::function<void()>> checks ABSL_GUARDED_BY(mu);
  };
  auto answers = std::make_shared<Answers>();
  auto expect = [answers](auto want, std::string what) {
    using T = decltype(want);
    return [answers, want, what](absl::StatusOr<T> got) {
      absl::MutexLock lock(&answers->mu);
      answers->checks.push_back([want, what, got] { EXPECT_EQ(got, absl::StatusOr<T>(want)) << what; });
    };
  };
  StoreClient* store = store_.get();
  std::vector<std::function<void()>> script = {
      [=] { store->Put("t", "k", "v1", true, expect(true, "first put is new")); },
      [=] { store->Get("t", "k", expect(Opt("v1"), "get after put")); },
      [=] { store->Put("t", "k", "v2", false, expect(false, "put without overwrite")); },
      [=] { store->Get("t", "k", expect(Opt("v1"), "value kept")); },
      [=] { store->Put("t", "k", "v3", true, expect(false, "overwrite")); },
      [=] { store->Get("t", "k", expect(Opt("v3"), "get after overwrite")); },
      [=] { store->Exists("t", "k", expect(true, "exists after put")); },
      [=] { store->Keys("t", "", expect(Strings{"k"}, "keys after put")); },
      [=] {
        store->GetAll("t", expect(Rows{{"k", "v3"}}, "getall after put"));
      },
      [=] { store->Delete("t", "k", expect(int64_t{1}, "delete")); },
      [=] { store->Exists("t", "k", expect(false, "exists after delete")); },
      [=] { store->Get("t", "k", expect(Opt(), "get after delete")); },
      [=] { store->Delete("t", "k", expect(int64_t{0}, "second delete")); },
      [=] { store->Put("t", "k", "v4", false, expect(true, "put after delete is new")); },
      [=] { store->Put("t", "p1", "x", true, expect(true, "p1")); },
      [=] { store->Put("t", "p2", "x", true, expect(true, "p2")); },
      [=] { store->DeleteByPrefix("t", "p", expect(int64_t{2}, "delete by prefix")); },
      [=] { store->Keys("t", "", expect(Strings{"k"}, "keys after delete by prefix")); },
      [=] { store->Put("t", "p1", "y", false, expect(true, "p1 is new again")); },
      [=] { store->Get("t", "p1", expect(Opt("y"), "p1 after its re-put")); },
  };
  // All in one loop task: no call waits for an earlier one's answer.
  ASSERT_TRUE(loop_.RunSync([script] {
    for (const auto& step : script) step();
  }));
  // Answers come in call order, so once a later call has answered, all of those have.
  EXPECT_EQ(blocking().Get("t", "k"), absl::StatusOr<Opt>("v4"));
  absl::MutexLock lock(&answers->mu);
  EXPECT_EQ(answers->checks.size(), script.size());
  for (auto& check : answers->checks) check();
}

}  // namespace orrery::gcs
