// The StoreClient contract for the in-memory and RocksDB backends, and what only RocksDB
// promises: rows survive a close, a crash and a checkpoint; a second opener, a corrupt
// directory and odd table names are answered, not crashed on.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/gcs/store_client_contract.h"

#include "src/gcs/storage/in_memory_store_client.h"
#include "src/gcs/storage/rocksdb_store_client.h"

namespace orrery::gcs {
namespace {

using ::orrery::testing::StatusIs;
using ::testing::HasSubstr;
using Rows = absl::flat_hash_map<std::string, std::string>;

// A fresh directory under /tmp, removed with everything in it when this goes.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/orrery-store-test-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

StoreClientFactory InMemoryFactory() {
  StoreClientFactory factory;
  factory.name = "InMemory";
  factory.make = [](StoreClient::Dispatcher dispatcher) -> std::unique_ptr<StoreClient> {
    return std::make_unique<InMemoryStoreClient>(std::move(dispatcher));
  };
  return factory;
}

StoreClientFactory RocksDbFactory(StorageSync sync) {
  // One directory per test: made by setup, removed by teardown.
  auto dir = std::make_shared<std::unique_ptr<TempDir>>();
  StoreClientFactory factory;
  factory.name = sync == StorageSync::kAlways ? "RocksDbSyncAlways" : "RocksDbSyncBatch";
  factory.setup = [dir] { *dir = std::make_unique<TempDir>(); };
  factory.make = [dir, sync](StoreClient::Dispatcher dispatcher) -> std::unique_ptr<StoreClient> {
    auto store = RocksDbStoreClient::Open({(*dir)->path() + "/db", sync}, std::move(dispatcher));
    if (!store.ok()) {
      ADD_FAILURE() << store.status();
      return nullptr;
    }
    return std::move(*store);
  };
  factory.teardown = [dir] { dir->reset(); };
  return factory;
}

INSTANTIATE_TEST_SUITE_P(InMemory, StoreClientContract, ::testing::Values(InMemoryFactory()), StoreClientFactoryName);
INSTANTIATE_TEST_SUITE_P(RocksDb, StoreClientContract,
                         ::testing::Values(RocksDbFactory(StorageSync::kBatch), RocksDbFactory(StorageSync::kAlways)),
                         StoreClientFactoryName);

class RocksDbStoreTest : public ::testing::Test {
 protected:
  absl::StatusOr<std::unique_ptr<RocksDbStoreClient>> Open(const std::string& path,
                                                           StorageSync sync = StorageSync::kBatch) {
    return RocksDbStoreClient::Open({path, sync}, loop_.dispatcher());
  }
  std::string DbPath() const { return dir_.path() + "/db"; }

  // Writes a few rows into a database at `path` and closes it.
  void MakeDatabase(const std::string& path) {
    auto store = Open(path);
    ASSERT_OK(store);
    BlockingStore db(loop_, **store);
    ASSERT_OK(db.Put("t", "k", "v"));
  }

  TempDir dir_;
  TestEventLoop loop_;
};

TEST_F(RocksDbStoreTest, RowsAndTablesSurviveCloseAndReopen) {
  for (StorageSync sync : {StorageSync::kBatch, StorageSync::kAlways}) {
    SCOPED_TRACE(sync == StorageSync::kAlways ? "kAlways" : "kBatch");
    std::string path = dir_.path() + (sync == StorageSync::kAlways ? "/always" : "/batch");
    {
      auto store = Open(path, sync);
      ASSERT_OK(store);
      BlockingStore db(loop_, **store);
      ASSERT_OK(db.Put("jobs", "j1", "one"));
      ASSERT_OK(db.Put("jobs", "j2", "two"));
      ASSERT_OK(db.Put("jobs", "j3", "three"));
      ASSERT_OK(db.Delete("jobs", "j2"));
      ASSERT_OK(db.Put("nodes", std::string("n\0\xff", 3), std::string("\0", 1)));
      ASSERT_OK(db.Put("emptied", "k", "v"));
      ASSERT_OK(db.Delete("emptied", "k"));
    }
    auto store = Open(path, sync);
    ASSERT_OK(store);
    BlockingStore db(loop_, **store);
    EXPECT_EQ(db.GetAll("jobs"), absl::StatusOr<Rows>(Rows{{"j1", "one"}, {"j3", "three"}}));
    EXPECT_EQ(db.GetAll("nodes"), absl::StatusOr<Rows>(Rows{{std::string("n\0\xff", 3), std::string("\0", 1)}}));
    EXPECT_EQ(db.GetAll("emptied"), absl::StatusOr<Rows>(Rows{}));
    EXPECT_EQ(db.GetAll("never-written"), absl::StatusOr<Rows>(Rows{}));
    EXPECT_EQ(db.Put("jobs", "j1", "uno", false), absl::StatusOr<bool>(false));
  }
}

// Table names are any bytes; RocksDB's own "default" column family is simply the table named so.
TEST_F(RocksDbStoreTest, TableNamesAreArbitraryBytes) {
  // "" and NULs would trip RocksDB itself; "%" and "%41" next to "A" test the name escaping.
  const std::vector<std::string> tables = {
      "", "default", "a\"b\n[c]=#d\\e", std::string("x\0y", 3), "x", "\xff", "%", "%41", "A", "%%"};
  {
    auto store = Open(DbPath());
    ASSERT_OK(store);
    BlockingStore db(loop_, **store);
    for (size_t i = 0; i < tables.size(); ++i) {
      EXPECT_EQ(db.Put(tables[i], "k", absl::StrCat(i)), absl::StatusOr<bool>(true)) << i;
    }
  }
  auto store = Open(DbPath());
  ASSERT_OK(store);
  BlockingStore db(loop_, **store);
  for (size_t i = 0; i < tables.size(); ++i) {
    EXPECT_EQ(db.GetAll(tables[i]), absl::StatusOr<Rows>(Rows{{"k", absl::StrCat(i)}})) << i;
  }
}

TEST_F(RocksDbStoreTest, OpenCreatesMissingParentDirectories) {
  std::string path = dir_.path() + "/a/b/c";
  auto store = Open(path);
  ASSERT_OK(store);
  EXPECT_OK(BlockingStore(loop_, **store).Put("t", "k", "v"));
}

TEST_F(RocksDbStoreTest, SecondOpenWhileOpenFailsWithFailedPrecondition) {
  auto first = Open(DbPath());
  ASSERT_OK(first);
  EXPECT_THAT(Open(DbPath()), StatusIs(absl::StatusCode::kFailedPrecondition,
                                       HasSubstr(absl::StrCat("another process uses the storage at ", DbPath()))));

  // From another process too (fork: the child only gets as far as the lock, no RocksDB).
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto second = RocksDbStoreClient::Open({DbPath(), StorageSync::kBatch}, [](std::function<void()>) {});
    ::_exit(!second.ok() && second.status().code() == absl::StatusCode::kFailedPrecondition ? 0 : 1);
  }
  int wstatus = 0;
  ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
  EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) << "wait status " << wstatus;

  first->reset();
  EXPECT_OK(Open(DbPath())) << "the lock goes with the first store";
}

TEST_F(RocksDbStoreTest, GarbageOverCurrentFailsWithDataLoss) {
  ASSERT_NO_FATAL_FAILURE(MakeDatabase(DbPath()));
  std::ofstream(DbPath() + "/CURRENT", std::ios::trunc) << "not a manifest name";
  EXPECT_THAT(Open(DbPath()), StatusIs(absl::StatusCode::kDataLoss, HasSubstr(DbPath())));
}

TEST_F(RocksDbStoreTest, GarbageOverManifestFailsWithDataLoss) {
  ASSERT_NO_FATAL_FAILURE(MakeDatabase(DbPath()));
  int manifests = 0;
  for (const auto& entry : std::filesystem::directory_iterator(DbPath())) {
    if (entry.path().filename().string().rfind("MANIFEST-", 0) != 0) continue;
    std::ofstream(entry.path(), std::ios::trunc) << std::string(300, '\x5a');
    ++manifests;
  }
  ASSERT_GT(manifests, 0);
  EXPECT_THAT(Open(DbPath()), StatusIs(absl::StatusCode::kDataLoss, HasSubstr(DbPath())));
}

TEST_F(RocksDbStoreTest, PathThatIsAFileFailsWithDataLoss) {
  std::string path = dir_.path() + "/file";
  std::ofstream(path) << "hello";
  EXPECT_THAT(Open(path), StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path)));
}

TEST_F(RocksDbStoreTest, DestructionFinishesQueuedCallsAndAnswersThem) {
  constexpr int kCalls = 500;
  auto countdown = std::make_shared<CallbackCountdown>(kCalls);
  {
    auto store = Open(DbPath());
    ASSERT_OK(store);
    RocksDbStoreClient* raw = store->get();
    // Queued in one loop task, and the store destroyed right after: most are still queued.
    ASSERT_TRUE(loop_.RunSync([raw, countdown] {
      for (int i = 0; i < kCalls; ++i) {
        raw->Put("t", absl::StrCat("k", i), "v", true, [countdown](absl::StatusOr<bool> r) {
          EXPECT_EQ(r, absl::StatusOr<bool>(true));
          countdown->Done();
        });
      }
    }));
  }
  EXPECT_TRUE(countdown->Wait());
  auto store = Open(DbPath());
  ASSERT_OK(store);
  absl::StatusOr<Rows> rows = BlockingStore(loop_, **store).GetAll("t");
  ASSERT_OK(rows);
  EXPECT_EQ(rows->size(), static_cast<size_t>(kCalls));
}

TEST_F(RocksDbStoreTest, CheckpointHasTheRowsWhileWritesGoOn) {
  auto store = Open(DbPath());
  ASSERT_OK(store);
  BlockingStore db(loop_, **store);
  std::map<std::string, std::string> before;
  for (int i = 0; i < 100; ++i) before[absl::StrCat("b", i)] = absl::StrCat("value", i);
  ASSERT_TRUE(db.PutAll("before", before));

  // A writer on the loop: each put issued when the previous one answered, until told to stop.
  struct Writer {
    std::atomic<bool> stop{false};
    std::atomic<int> acked{0};
    std::promise<void> under_way;  // 50 answered
    std::promise<void> stopped;
  };
  auto writer = std::make_shared<Writer>();
  RocksDbStoreClient* raw = store->get();
  auto write_next = std::make_shared<std::function<void(int)>>();
  *write_next = [raw, writer, weak = std::weak_ptr<std::function<void(int)>>(write_next)](int i) {
    if (writer->stop) {
      writer->stopped.set_value();
      return;
    }
    raw->Put("during", absl::StrCat("w", i), absl::StrCat("value", i), true, [writer, weak, i](absl::StatusOr<bool> r) {
      EXPECT_TRUE(r.ok()) << r.status();
      writer->acked = i + 1;
      if (i + 1 == 50) writer->under_way.set_value();
      if (auto next = weak.lock()) (*next)(i + 1);
    });
  };
  loop_.Post([write_next] { (*write_next)(0); });
  ASSERT_EQ(writer->under_way.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);

  std::string checkpoint = dir_.path() + "/checkpoint";
  ASSERT_OK((*store)->Checkpoint(checkpoint));
  int acked_after_checkpoint = writer->acked;
  writer->stop = true;
  ASSERT_EQ(writer->stopped.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_THAT((*store)->Checkpoint(checkpoint), StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(checkpoint)));

  auto copy = Open(checkpoint);
  ASSERT_OK(copy);
  BlockingStore copy_db(loop_, **copy);
  EXPECT_EQ(copy_db.GetAll("before"), absl::StatusOr<Rows>(Rows(before.begin(), before.end())));
  // The writes in flight: the copy has a prefix of them (each put followed the last's answer),
  // at least those answered before the checkpoint began, and none after it ended.
  absl::StatusOr<Rows> during = copy_db.GetAll("during");
  ASSERT_OK(during);
  int n = static_cast<int>(during->size());
  EXPECT_GE(n, 50);
  EXPECT_LE(n, acked_after_checkpoint + 1);
  for (int i = 0; i < n; ++i) {
    auto it = during->find(absl::StrCat("w", i));
    ASSERT_NE(it, during->end()) << "w" << i << " missing from a copy with " << n << " rows";
    EXPECT_EQ(it->second, absl::StrCat("value", i));
  }
  // The copy is a database of its own.
  EXPECT_OK(copy_db.Put("before", "b0", "changed"));
  EXPECT_EQ(db.Get("before", "b0"), absl::StatusOr<std::optional<std::string>>("value0"));
}

// kBatch acknowledges before the WAL is synced, but after it is written: a process that dies
// right after an answer (kill -9, no close, no sync) has lost nothing it was told was stored.
// Not in RocksDbStoreTest, whose event loop has a thread running when the test forks: a child
// forked while another thread holds a lock (malloc's, say) hangs on it. Here the only thread
// is this one until the child is gone.
TEST(RocksDbStoreKillTest, AcknowledgedBatchWriteSurvivesKill) {
  TempDir dir;
  const std::string path = dir.path() + "/db";
  // No store is open in this process while it forks.
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child: no gtest here (it would report in the wrong process), exit codes instead.
    ::alarm(60);  // Die of SIGALRM rather than hang.
    auto store = RocksDbStoreClient::Open({path, StorageSync::kBatch},
                                          [](std::function<void()> fn) { fn(); });  // Answers on its thread.
    if (!store.ok()) ::_exit(2);
    std::promise<bool> acked;
    for (int i = 0; i < 100; ++i) {
      (*store)->Put("t", absl::StrCat("k", i), absl::StrCat("v", i), true, [&acked, i](absl::StatusOr<bool> r) {
        if (!r.ok()) ::_exit(3);
        if (i == 99) acked.set_value(true);
      });
    }
    acked.get_future().wait();
    ::kill(::getpid(), SIGKILL);
    ::_exit(4);
  }
  int wstatus = 0;
  ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
      << "the child did not kill itself: wait status " << wstatus;

  TestEventLoop loop;
  auto store = RocksDbStoreClient::Open({path, StorageSync::kBatch}, loop.dispatcher());
  ASSERT_OK(store);
  absl::StatusOr<Rows> rows = BlockingStore(loop, **store).GetAll("t");
  ASSERT_OK(rows);
  EXPECT_EQ(rows->size(), 100u);
  EXPECT_EQ(rows->count("k99") ? rows->at("k99") : "", "v99");
}

}  // namespace
}  // namespace orrery::gcs
