// RedisStoreClient against a real redis-server that each test starts on loopback (a port picked
// at run time, or a Unix socket), with the AOF synced on every write, and kills when it ends.
#include "src/gcs/storage/redis_store_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/gcs/store_client_contract.h"

#include "src/common/status.h"

namespace orrery::gcs {
namespace {

using ::orrery::testing::IsOk;
using ::orrery::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

using ::orrery::testing::RedisServer;

// ---------------------------------------------------------------------------------------------
// The GCS loop of these tests: the client posts answers from its thread, the test runs them.

class ManualLoop {
 public:
  StoreClient::Dispatcher dispatcher() {
    return [this](std::function<void()> fn) {
      absl::MutexLock lock(&mu_);
      posted_.push_back(std::move(fn));
    };
  }

  // Runs what is posted until `done()`; false when `timeout` passes first.
  bool RunUntil(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(30)) {
    absl::Time deadline = absl::Now() + timeout;
    while (!done()) {
      std::deque<std::function<void()>> batch;
      {
        absl::MutexLock lock(&mu_);
        mu_.AwaitWithDeadline(absl::Condition(this, &ManualLoop::HasPosted), deadline);
        batch.swap(posted_);
      }
      if (batch.empty() && absl::Now() >= deadline) return done();
      for (auto& fn : batch) fn();
    }
    return true;
  }

  void RunFor(absl::Duration duration) {
    RunUntil([] { return false; }, duration);
  }

 private:
  bool HasPosted() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !posted_.empty(); }

  absl::Mutex mu_;
  std::deque<std::function<void()>> posted_ ABSL_GUARDED_BY(mu_);
};

// One call's answer, once it comes.
template <typename T>
struct Answer {
  std::shared_ptr<std::optional<absl::StatusOr<T>>> result = std::make_shared<std::optional<absl::StatusOr<T>>>();
  StoreClient::Callback<T> callback() const {
    return [result = result](absl::StatusOr<T> value) { *result = std::move(value); };
  }
  bool done() const { return result->has_value(); }
  const absl::StatusOr<T>& value() const { return **result; }
};

// ---------------------------------------------------------------------------------------------
// URLs.

TEST(RedisAddressTest, ParsesTcpForms) {
  auto plain = RedisAddress::Parse("redis://127.0.0.1:6380");
  ASSERT_OK(plain);
  EXPECT_EQ(plain->host, "127.0.0.1");
  EXPECT_EQ(plain->port, 6380);
  EXPECT_EQ(plain->db, 0);
  EXPECT_TRUE(plain->user.empty());
  EXPECT_TRUE(plain->password.empty());
  EXPECT_TRUE(plain->unix_socket.empty());

  auto named = RedisAddress::Parse("redis://redis-1.example.com:7000/3");
  ASSERT_OK(named);
  EXPECT_EQ(named->host, "redis-1.example.com");
  EXPECT_EQ(named->port, 7000);
  EXPECT_EQ(named->db, 3);

  auto v6 = RedisAddress::Parse("redis://[::1]:6379/0");
  ASSERT_OK(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 6379);

  auto user = RedisAddress::Parse("redis://alice:p%40ss:w0rd@host:1/2");
  ASSERT_OK(user);
  EXPECT_EQ(user->user, "alice");
  EXPECT_EQ(user->password, "p@ss:w0rd");
  EXPECT_EQ(user->host, "host");
  EXPECT_EQ(user->port, 1);
  EXPECT_EQ(user->db, 2);

  auto password_only = RedisAddress::Parse("redis://:s3cr@t@[fe80::1]:6379");
  ASSERT_OK(password_only);
  EXPECT_EQ(password_only->user, "");
  EXPECT_EQ(password_only->password, "s3cr@t");
  EXPECT_EQ(password_only->host, "fe80::1");

  auto default_port = RedisAddress::Parse("redis://localhost");
  ASSERT_OK(default_port);
  EXPECT_EQ(default_port->port, 6379);
}

TEST(RedisAddressTest, ParsesUnixForms) {
  auto plain = RedisAddress::Parse("redis+unix:///run/redis/redis.sock");
  ASSERT_OK(plain);
  EXPECT_EQ(plain->unix_socket, "/run/redis/redis.sock");
  EXPECT_TRUE(plain->host.empty());
  EXPECT_EQ(plain->db, 0);

  auto full = RedisAddress::Parse("redis+unix://bob:pw@/tmp/r.sock?db=5");
  ASSERT_OK(full);
  EXPECT_EQ(full->user, "bob");
  EXPECT_EQ(full->password, "pw");
  EXPECT_EQ(full->unix_socket, "/tmp/r.sock");
  EXPECT_EQ(full->db, 5);

  auto password_only = RedisAddress::Parse("redis+unix://:pw@/tmp/r.sock");
  ASSERT_OK(password_only);
  EXPECT_EQ(password_only->user, "");
  EXPECT_EQ(password_only->password, "pw");
}

TEST(RedisAddressTest, RejectsBadUrlsNamingThemAndWhatIsWrong) {
  struct Case {
    std::string url;
    std::string what;
    std::string shown = "";  // the URL as the error names it, when not `url` (a password masked)
  };
  const std::vector<Case> cases = {
      {"http://h:1", "expected redis://"},
      {"h:6379", "expected redis://"},
      {"rediss://h:1", "TLS"},
      {"redis://", "missing host"},
      {"redis://:1", "missing host"},
      {"redis://h:", "missing port"},
      {"redis://h:0", "port"},
      {"redis://h:65536", "port"},
      {"redis://h:12ab", "port"},
      {"redis://h:-1", "port"},
      {"redis://::1:6379", "brackets"},
      {"redis://[::1:6379", "']'"},
      {"redis://[127.0.0.1]:6379", "IPv6"},
      {"redis://[::1]x", "':PORT'"},
      {"redis://h o:1", "bad character"},
      {"redis://h:1/x", "db number"},
      {"redis://h:1/1?x=2", "db number"},
      {"redis://alice@h:1", "user:password", "redis://***@h:1"},
      {"redis://alice:@h:1", "empty password", "redis://alice:***@h:1"},
      {"redis://:p%4@h:1", "%-escape", "redis://:***@h:1"},
      {"redis+unix://relative.sock", "absolute"},
      {"redis+unix://", "absolute"},
      {"redis+unix:///tmp/", "directory"},
      {"redis+unix:///tmp/r.sock?timeout=1", "db=N"},
      {"redis+unix:///tmp/r.sock?db=x", "db must be a number"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(RedisAddress::Parse(c.url),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(c.shown.empty() ? c.url : c.shown), HasSubstr(c.what))))
        << c.url;
  }
}

TEST(RedisAddressTest, MasksThePasswordInToStringAndInErrors) {
  auto address = RedisAddress::Parse("redis://alice:topsecret@h:1/2");
  ASSERT_OK(address);
  EXPECT_EQ(address->ToString(), "redis://alice:***@h:1/2");
  auto password_only = RedisAddress::Parse("redis://:topsecret@[::1]:7");
  ASSERT_OK(password_only);
  EXPECT_EQ(password_only->ToString(), "redis://:***@[::1]:7");
  auto unix_socket = RedisAddress::Parse("redis+unix://:topsecret@/tmp/r.sock?db=1");
  ASSERT_OK(unix_socket);
  EXPECT_EQ(unix_socket->ToString(), "redis+unix://:***@/tmp/r.sock?db=1");

  EXPECT_THAT(RedisAddress::Parse("redis://alice:topsecret@h:99999"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("redis://alice:***@h:99999"), Not(HasSubstr("topsecret")))));
  // Without a ':', the credentials may be a bare password: all of them are masked.
  EXPECT_THAT(
      RedisAddress::Parse("redis://topsecret@h:1"),
      StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr("redis://***@h:1"), Not(HasSubstr("topsecret")))));
  EXPECT_THAT(RedisAddress::Parse("redis+unix://:topsecret@/tmp/r.sock?db=z"),
              StatusIs(absl::StatusCode::kInvalidArgument, Not(HasSubstr("topsecret"))));
  EXPECT_THAT(RedisAddress::Parse("rediss://u:topsecret@h:1"),
              StatusIs(absl::StatusCode::kInvalidArgument, Not(HasSubstr("topsecret"))));
}

TEST(RedisAddressTest, ToStringParsesBackWhenThereIsNoPassword) {
  for (const std::string url : {"redis://127.0.0.1:6379", "redis://h:1/4", "redis://[::1]:6380",
                                "redis+unix:///tmp/r.sock", "redis+unix:///tmp/r.sock?db=3"}) {
    auto address = RedisAddress::Parse(url);
    ASSERT_OK(address) << url;
    EXPECT_EQ(address->ToString(), url);
  }
}

// ---------------------------------------------------------------------------------------------
// Against a real server.

class RedisStoreClientTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer({}); }

  void TearDown() override {
    clients_.clear();
    loop_.RunFor(absl::ZeroDuration());
    server_.reset();
  }

  void StartServer(RedisServer::Options options) {
    server_.reset();
    auto server = RedisServer::Start(std::move(options));
    ASSERT_OK(server);
    server_ = std::move(*server);
  }

  absl::StatusOr<RedisStoreClient*> Open(const std::string& url,
                                         const std::string& prefix = "test:", int64_t timeout_ms = 5000) {
    ORRERY_ASSIGN_OR_RETURN(RedisAddress address, RedisAddress::Parse(url));
    RedisStoreOptions options{address, prefix, timeout_ms};
    ORRERY_ASSIGN_OR_RETURN(std::unique_ptr<RedisStoreClient> client,
                            RedisStoreClient::Open(options, loop_.dispatcher()));
    clients_.push_back(std::move(client));
    return clients_.back().get();
  }

  // Calls and runs the loop until answered.
  template <typename T>
  absl::StatusOr<T> Wait(const std::function<void(StoreClient::Callback<T>)>& call) {
    Answer<T> answer;
    call(answer.callback());
    if (!loop_.RunUntil([&] { return answer.done(); })) return absl::DeadlineExceededError("no answer");
    return answer.value();
  }
  absl::StatusOr<bool> Put(StoreClient* store, const std::string& table, const std::string& key,
                           const std::string& value, bool overwrite = true) {
    return Wait<bool>([&](auto done) { store->Put(table, key, value, overwrite, std::move(done)); });
  }
  absl::StatusOr<std::optional<std::string>> Get(StoreClient* store, const std::string& table, const std::string& key) {
    return Wait<std::optional<std::string>>([&](auto done) { store->Get(table, key, std::move(done)); });
  }
  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> GetAll(StoreClient* store, const std::string& table) {
    return Wait<absl::flat_hash_map<std::string, std::string>>(
        [&](auto done) { store->GetAll(table, std::move(done)); });
  }

  ManualLoop loop_;
  std::unique_ptr<RedisServer> server_;
  std::vector<std::unique_ptr<RedisStoreClient>> clients_;
};

TEST_F(RedisStoreClientTest, ClientsWithDifferentPrefixesDoNotSeeEachOthersRows) {
  auto a = Open(server_->Url(), "cluster-a:");
  auto b = Open(server_->Url(), "cluster-b:");
  ASSERT_OK(a);
  ASSERT_OK(b);
  ASSERT_THAT(Put(*a, "nodes", "n1", "from a"), IsOk());
  ASSERT_THAT(Put(*b, "nodes", "n2", "from b"), IsOk());
  EXPECT_EQ(*Get(*b, "nodes", "n1"), std::nullopt);
  auto rows_a = GetAll(*a, "nodes");
  ASSERT_OK(rows_a);
  EXPECT_THAT(*rows_a, UnorderedElementsAre(std::pair<const std::string, std::string>("n1", "from a")));
  EXPECT_EQ(*Wait<int64_t>([&](auto done) { (*b)->DeleteByPrefix("nodes", "", std::move(done)); }), 1);
  EXPECT_EQ(**Get(*a, "nodes", "n1"), "from a");
}

TEST_F(RedisStoreClientTest, DbsOfOneServerAreApart) {
  auto db0 = Open(server_->Url());
  auto db1 = Open(server_->Url() + "/1");
  ASSERT_OK(db0);
  ASSERT_OK(db1);
  ASSERT_THAT(Put(*db1, "t", "k", "in db 1"), IsOk());
  EXPECT_EQ(*Get(*db0, "t", "k"), std::nullopt);
  EXPECT_EQ(**Get(*db1, "t", "k"), "in db 1");
  EXPECT_THAT(Open(server_->Url() + "/99999"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("SELECT")));
}

TEST_F(RedisStoreClientTest, KeysAndValuesAreBinarySafe) {
  auto store = Open(server_->Url());
  ASSERT_OK(store);
  constexpr char kKey[] = "k\0ey\r\n*1\r\n";
  constexpr char kValue[] = "\0\xff\r\n$-1\r\n";
  constexpr char kTable[] = "ta\0ble";
  const std::string key(kKey, sizeof(kKey) - 1);
  const std::string value(kValue, sizeof(kValue) - 1);
  const std::string table(kTable, sizeof(kTable) - 1);
  ASSERT_THAT(Put(*store, table, key, value), IsOk());
  EXPECT_EQ(**Get(*store, table, key), value);
  EXPECT_EQ(*Get(*store, "ta", key), std::nullopt);
  auto keys =
      Wait<std::vector<std::string>>([&](auto done) { (*store)->Keys(table, std::string("k\0", 2), std::move(done)); });
  ASSERT_OK(keys);
  EXPECT_THAT(*keys, ::testing::ElementsAre(key));
}

// Calls made together go out in one pipeline; each answer comes in call order, and each call
// sees those before it, DeleteByPrefix's deletion included.
TEST_F(RedisStoreClientTest, PipelinedCallsAnswerInCallOrderAndSeeEarlierCalls) {
  auto opened = Open(server_->Url());
  ASSERT_OK(opened);
  RedisStoreClient* store = *opened;
  std::vector<int> order;
  std::vector<std::string> problems;
  auto expect = [&](int index, bool ok, const std::string& what) {
    order.push_back(index);
    if (!ok) problems.push_back(absl::StrCat("call ", index, ": ", what));
  };
  int n = 0;
  for (int i = 0; i < 300; ++i) {
    int index = n++;
    store->Put("t", absl::StrCat("a/", i), absl::StrCat(i), true,
               [&, index](absl::StatusOr<bool> added) { expect(index, added.ok() && *added, "put a new key"); });
  }
  int get_index = n++;
  store->Get("t", "a/7", [&](absl::StatusOr<std::optional<std::string>> value) {
    expect(get_index, value.ok() && *value == std::optional<std::string>("7"), "get a/7");
  });
  int delete_index = n++;
  store->DeleteByPrefix("t", "a/1", [&](absl::StatusOr<int64_t> deleted) {
    // a/1, a/10..a/19, a/100..a/199
    expect(delete_index, deleted.ok() && *deleted == 111, "delete a/1*");
  });
  int exists_index = n++;
  store->Exists("t", "a/150",
                [&](absl::StatusOr<bool> exists) { expect(exists_index, exists.ok() && !*exists, "a/150 gone"); });
  int keys_index = n++;
  store->Keys("t", "", [&](absl::StatusOr<std::vector<std::string>> keys) {
    expect(keys_index, keys.ok() && keys->size() == 189, "189 keys left");
  });
  int nx_index = n++;
  store->Put("t", "a/2", "again", false,
             [&](absl::StatusOr<bool> added) { expect(nx_index, added.ok() && !*added, "keep a/2"); });
  int delete_one_index = n++;
  store->Delete("t", "a/3", [&](absl::StatusOr<int64_t> deleted) {
    expect(delete_one_index, deleted.ok() && *deleted == 1, "delete a/3");
  });
  int all_index = n++;
  store->GetAll("t", [&](absl::StatusOr<absl::flat_hash_map<std::string, std::string>> rows) {
    expect(all_index, rows.ok() && rows->size() == 188 && rows->at("a/2") == "2" && !rows->contains("a/3"), "rows");
  });
  ASSERT_TRUE(loop_.RunUntil([&] { return static_cast<int>(order.size()) == n; }));
  std::vector<int> expected(n);
  for (int i = 0; i < n; ++i) expected[i] = i;
  EXPECT_EQ(order, expected);
  EXPECT_THAT(problems, ::testing::IsEmpty());
}

TEST_F(RedisStoreClientTest, UnixSocket) {
  StartServer({.unix_socket = true});
  auto store = Open(server_->Url() + "?db=2");
  ASSERT_OK(store);
  ASSERT_THAT(Put(*store, "t", "k", "v"), IsOk());
  EXPECT_EQ(**Get(*store, "t", "k"), "v");
}

TEST_F(RedisStoreClientTest, AuthWithAPasswordAndPermissionDeniedWithAWrongOne) {
  StartServer({.password = "right-pw"});
  auto store = Open(server_->Url("right-pw"));
  ASSERT_OK(store);
  ASSERT_THAT(Put(*store, "t", "k", "v"), IsOk());
  // user + password: AUTH default right-pw
  auto as_default = Open(absl::StrCat("redis://default:right-pw@127.0.0.1:", server_->port()));
  ASSERT_OK(as_default);
  EXPECT_EQ(**Get(*as_default, "t", "k"), "v");

  absl::Time start = absl::Now();
  EXPECT_THAT(Open(server_->Url("wrong-pw")),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr(absl::StrCat("127.0.0.1:", server_->port())), Not(HasSubstr("wrong-pw")))));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3)) << "a refused password is not retried";
  EXPECT_THAT(Open(server_->Url()), StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(RedisStoreClientTest, OpenFailsUnavailableWithinTheTimeoutWhenNobodyListens) {
  int port = ::orrery::testing::PickPort();
  std::string url = absl::StrCat("redis://:pw@127.0.0.1:", port);
  absl::Time start = absl::Now();
  EXPECT_THAT(Open(url, "test:", 700),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr(absl::StrCat("redis://:***@127.0.0.1:", port)), Not(HasSubstr(":pw@")))));
  absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(600)) << "keeps trying until the timeout";
  EXPECT_LT(took, absl::Milliseconds(2700));
}

TEST_F(RedisStoreClientTest, OpenRejectsAnEmptyPrefix) {
  EXPECT_THAT(Open(server_->Url(), ""), StatusIs(absl::StatusCode::kInvalidArgument));
}

// A Redis crash while the client is open: the calls made during the outage wait and complete
// once Redis is back on the same port and dir, and no acknowledged write is lost.
TEST_F(RedisStoreClientTest, SurvivesARedisRestartWithoutLosingAcknowledgedWrites) {
  auto opened = Open(server_->Url());
  ASSERT_OK(opened);
  RedisStoreClient* store = *opened;
  constexpr int kWrites = 400;
  std::vector<Answer<bool>> writes(kWrites);
  for (int i = 0; i < kWrites; ++i)
    store->Put("t", absl::StrCat("k", i), absl::StrCat("v", i), true, writes[i].callback());
  auto acked = [&] {
    int n = 0;
    for (const auto& write : writes) n += write.done() ? 1 : 0;
    return n;
  };
  // Crash in the middle of the stream, with writes in flight.
  ASSERT_TRUE(loop_.RunUntil([&] { return acked() >= 50; }));
  server_->Kill();
  std::vector<int> acked_before_kill;
  for (int i = 0; i < kWrites; ++i) {
    if (writes[i].done() && writes[i].value().ok()) acked_before_kill.push_back(i);
  }

  Answer<bool> put_during;
  Answer<std::optional<std::string>> get_during;
  Answer<int64_t> delete_during;
  store->Put("t", "during", "outage", true, put_during.callback());
  store->Get("t", "k0", get_during.callback());
  store->Delete("t", "k1", delete_during.callback());
  loop_.RunFor(absl::Milliseconds(300));
  EXPECT_FALSE(put_during.done() || get_during.done() || delete_during.done()) << "calls wait while Redis is down";

  ASSERT_OK(server_->Restart());
  ASSERT_TRUE(loop_.RunUntil(
      [&] { return acked() == kWrites && put_during.done() && get_during.done() && delete_during.done(); }));
  for (int i = 0; i < kWrites; ++i) EXPECT_OK(writes[i].value()) << i;
  EXPECT_OK(put_during.value());
  ASSERT_OK(get_during.value());
  EXPECT_EQ(*get_during.value(), "v0");
  EXPECT_OK(delete_during.value());

  auto rows = GetAll(store, "t");
  ASSERT_OK(rows);
  for (int i : acked_before_kill) {
    if (i == 1) continue;  // deleted during the outage
    auto it = rows->find(absl::StrCat("k", i));
    ASSERT_NE(it, rows->end()) << "acknowledged write k" << i << " lost";
    EXPECT_EQ(it->second, absl::StrCat("v", i));
  }
  EXPECT_EQ(rows->size(), static_cast<size_t>(kWrites));  // all writes, less k1, plus "during"
  EXPECT_FALSE(rows->contains("k1"));
  EXPECT_EQ(rows->at("during"), "outage");
}

TEST_F(RedisStoreClientTest, ClosingAnswersUnavailableWhenRedisStaysGone) {
  auto opened = Open(server_->Url());
  ASSERT_OK(opened);
  ASSERT_THAT(Put(*opened, "t", "k", "v"), IsOk());
  server_->Kill();
  Answer<bool> put;
  (*opened)->Put("t", "k2", "v2", true, put.callback());
  absl::Time start = absl::Now();
  clients_.clear();  // the destructor
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));
  ASSERT_TRUE(loop_.RunUntil([&] { return put.done(); }, absl::Seconds(1)));
  EXPECT_THAT(put.value(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(RedisStoreClientTest, ClosingFinishesWhatWasCalledWhileRedisIsUp) {
  auto opened = Open(server_->Url());
  ASSERT_OK(opened);
  std::vector<Answer<bool>> puts(100);
  for (int i = 0; i < 100; ++i) (*opened)->Put("t", absl::StrCat(i), "v", true, puts[i].callback());
  clients_.clear();
  loop_.RunFor(absl::ZeroDuration());
  for (const auto& put : puts) {
    ASSERT_TRUE(put.done());
    EXPECT_OK(put.value());
  }
  auto again = Open(server_->Url());
  ASSERT_OK(again);
  EXPECT_EQ(GetAll(*again, "t")->size(), 100u);
}

// ---------------------------------------------------------------------------------------------
// The contract every backend meets, against one server for the whole run: each test opens a
// client with a prefix of its own, so it starts empty and sees no other test's rows.

class ContractRedisServer : public ::testing::Environment {
 public:
  // Started by the first contract test that runs.
  static RedisServer* Get() {
    if (server_ == nullptr) {
      auto server = RedisServer::Start({});
      if (!server.ok()) {
        ADD_FAILURE() << server.status();
        return nullptr;
      }
      server_ = std::move(*server);
    }
    return server_.get();
  }
  void TearDown() override { server_.reset(); }

 private:
  static inline std::unique_ptr<RedisServer> server_;
};

[[maybe_unused]] ::testing::Environment* const kContractRedisServer =
    ::testing::AddGlobalTestEnvironment(new ContractRedisServer);

StoreClientFactory RedisFactory() {
  StoreClientFactory factory;
  factory.name = "Redis";
  factory.setup = [] { ASSERT_NE(ContractRedisServer::Get(), nullptr); };
  factory.make = [](StoreClient::Dispatcher dispatcher) -> std::unique_ptr<StoreClient> {
    static int tests = 0;
    auto address = RedisAddress::Parse(ContractRedisServer::Get()->Url());
    if (!address.ok()) {
      ADD_FAILURE() << address.status();
      return nullptr;
    }
    RedisStoreOptions options{*address, absl::StrCat("contract-", ++tests, ":")};
    auto store = RedisStoreClient::Open(options, std::move(dispatcher));
    if (!store.ok()) {
      ADD_FAILURE() << store.status();
      return nullptr;
    }
    return std::move(*store);
  };
  return factory;
}

INSTANTIATE_TEST_SUITE_P(Redis, StoreClientContract, ::testing::Values(RedisFactory()), StoreClientFactoryName);

}  // namespace
}  // namespace orrery::gcs
