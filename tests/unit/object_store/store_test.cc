// The object table on its own: a plain buffer stands in for the shared region (the store only
// reads and writes it to spill and restore), and the test drives the store's io_context.
#include "src/object_store/store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace orrery::object_store {
namespace {

using ::testing::HasSubstr;

constexpr ClientId kWriter = 1;
constexpr ClientId kReader = 2;

ObjectId NewId() { return ObjectIdOf(TaskId::FromRandom(), 1); }

class StoreTest : public ::testing::Test {
 protected:
  void MakeStore(size_t capacity, std::string spill_dir = "") {
    memory_.assign(capacity, 0);
    store_ = std::make_unique<Store>(io_, memory_.data(), StoreOptions{capacity, 0.8, std::move(spill_dir)});
    store_->ConnectClient(kWriter);
    store_->ConnectClient(kReader);
  }

  absl::StatusOr<ObjectLocation> Create(const ObjectId& id, uint64_t size, bool primary = true, int64_t wait_ms = 0,
                                        ClientId client = kWriter) {
    std::optional<absl::StatusOr<ObjectLocation>> result;
    store_->Create(client, id, size, 0, primary, wait_ms, [&](absl::StatusOr<ObjectLocation> r) { result = r; });
    RunUntil([&] { return result.has_value(); });
    return result.value_or(absl::DeadlineExceededError("no answer"));
  }

  // Creates, fills with `fill`, seals and releases: an object no one holds.
  ObjectId Put(uint64_t size, bool primary = true, char fill = 'x') {
    ObjectId id = NewId();
    auto location = Create(id, size, primary);
    EXPECT_TRUE(location.ok()) << location.status();
    if (!location.ok()) return id;
    std::memset(memory_.data() + location->offset, fill, size);
    EXPECT_TRUE(store_->Seal(kWriter, id).ok());
    EXPECT_TRUE(store_->Release(kWriter, id).ok());
    return id;
  }

  std::optional<std::vector<std::optional<ObjectLocation>>> Get(std::vector<ObjectId> ids, int64_t timeout_ms,
                                                                ClientId client = kReader) {
    std::optional<std::vector<std::optional<ObjectLocation>>> result;
    store_->Get(client, std::move(ids), timeout_ms, [&](auto found) { result = std::move(found); });
    RunUntil([&] { return result.has_value(); });
    return result;
  }

  // Runs the store's loop until `done` holds (or 10 s pass, which fails the test).
  template <typename Pred>
  void RunUntil(Pred done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_one_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(done()) << "the store never got there";
  }

  boost::asio::io_context io_;
  std::vector<uint8_t> memory_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, AnObjectIsInvisibleUntilSealedAndThenGetReturnsWhereItLies) {
  MakeStore(1 << 20);
  ObjectId id = NewId();
  auto created = Create(id, 1000);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->offset % 64, 0u);
  EXPECT_FALSE(store_->Contains(id));
  auto early = Get({id}, 0);
  ASSERT_TRUE(early.has_value());
  EXPECT_FALSE((*early)[0].has_value());

  ASSERT_TRUE(store_->Seal(kWriter, id).ok());
  EXPECT_TRUE(store_->Contains(id));
  auto found = Get({id}, 0);
  ASSERT_TRUE((*found)[0].has_value());
  EXPECT_EQ((*found)[0]->offset, created->offset);
  EXPECT_EQ((*found)[0]->data_size, 1000u);
  // Sealed once only, and only by its creator.
  EXPECT_FALSE(store_->Seal(kWriter, id).ok());
  EXPECT_FALSE(store_->Seal(kReader, NewId()).ok());
}

TEST_F(StoreTest, AGetWaitsForTheSealAndATimeoutAnswersWithoutTheMissingObject) {
  MakeStore(1 << 20);
  ObjectId id = NewId();
  ASSERT_TRUE(Create(id, 10).ok());
  std::optional<std::vector<std::optional<ObjectLocation>>> waiting;
  store_->Get(kReader, {id}, -1, [&](auto found) { waiting = std::move(found); });
  io_.poll();
  EXPECT_FALSE(waiting.has_value());
  ASSERT_TRUE(store_->Seal(kWriter, id).ok());
  ASSERT_TRUE(waiting.has_value());
  EXPECT_TRUE((*waiting)[0].has_value());

  // Never created: the timeout answers, with nothing for it.
  auto start = std::chrono::steady_clock::now();
  auto never = Get({NewId(), id}, 50);
  ASSERT_TRUE(never.has_value());
  EXPECT_FALSE((*never)[0].has_value());
  EXPECT_TRUE((*never)[1].has_value());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
}

// A client's timeout is its own to choose, up to INT64_MAX: found by fuzz_store_protocol, whose
// corpus keeps the input (the conversion to nanoseconds overflowed, undefined behaviour).
TEST_F(StoreTest, TheLongestGetAndCreateWaitsStillWaitAndAnswer) {
  MakeStore(1 << 20);
  ObjectId id = NewId();
  ASSERT_TRUE(Create(id, 10).ok());
  std::optional<std::vector<std::optional<ObjectLocation>>> got;
  store_->Get(kReader, {id}, std::numeric_limits<int64_t>::max(), [&](auto found) { got = std::move(found); });
  io_.poll();
  EXPECT_FALSE(got.has_value());
  ASSERT_TRUE(store_->Seal(kWriter, id).ok());
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE((*got)[0].has_value());

  MakeStore(1 << 20);
  std::vector<ObjectId> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(Put(256 << 10));
  std::optional<absl::StatusOr<ObjectLocation>> created;
  store_->Create(kWriter, NewId(), 1000, 0, true, std::numeric_limits<int64_t>::max(), [&](auto r) { created = r; });
  io_.poll();
  EXPECT_FALSE(created.has_value());
  store_->Delete(ids[0]);
  ASSERT_TRUE(created.has_value());
  EXPECT_TRUE(created->ok()) << created->status();
}

TEST_F(StoreTest, CreatingAnExistingIdOrMoreThanTheStoreFailsNamingWhy) {
  MakeStore(1 << 20);
  ObjectId id = Put(100);
  auto again = Create(id, 100);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(again.status().message(), HasSubstr(id.Hex()));

  auto huge = Create(NewId(), 2 << 20, true, /*wait_ms=*/60'000);  // refused at once, not after the wait
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(huge.status().message(), HasSubstr("2097152 bytes"));
  EXPECT_THAT(huge.status().message(), HasSubstr("1048576 bytes"));
}

TEST_F(StoreTest, PinnedPrimariesMakeAFullStoreRefuseNamingTheSizeAndTheUse) {
  MakeStore(1 << 20);  // no spill directory: primaries can only stay
  for (int i = 0; i < 4; ++i) Put(256 << 10);
  auto full = Create(NewId(), 1000);
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(full.status().message(), HasSubstr("asked for 1000 bytes"));
  EXPECT_THAT(full.status().message(), HasSubstr("1048576 bytes of 1048576 bytes in use"));
}

TEST_F(StoreTest, ACreateWaitingForRoomSucceedsWhenAnObjectIsDeleted) {
  MakeStore(1 << 20);
  std::vector<ObjectId> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(Put(256 << 10));
  std::optional<absl::StatusOr<ObjectLocation>> result;
  store_->Create(kWriter, NewId(), 1000, 0, true, 60'000, [&](auto r) { result = r; });
  io_.poll();
  EXPECT_FALSE(result.has_value());
  store_->Delete(ids[2]);
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->ok()) << result->status();
}

TEST_F(StoreTest, OtherCopiesAreEvictedLeastRecentlyUsedFirstAndPrimariesNever) {
  MakeStore(1 << 20);
  ObjectId primary = Put(256 << 10, /*primary=*/true);
  ObjectId a = Put(256 << 10, false);
  ObjectId b = Put(256 << 10, false);
  ObjectId c = Put(256 << 10, false);
  // Touch a: b is now the least recently used copy.
  ASSERT_TRUE((*Get({a}, 0))[0].has_value());
  ASSERT_TRUE(store_->Release(kReader, a).ok());
  ASSERT_TRUE(Create(NewId(), 256 << 10).ok());
  EXPECT_FALSE(store_->Contains(b));
  EXPECT_TRUE(store_->Contains(a));
  EXPECT_TRUE(store_->Contains(c));
  EXPECT_TRUE(store_->Contains(primary));
  EXPECT_EQ(store_->Counters().num_evicted, 1u);
  // The copies (made by pullers: never primary) were counted as received, the primary not.
  EXPECT_EQ(store_->Counters().num_received, 3u);
  EXPECT_EQ(store_->Counters().received_bytes, 3u * (256 << 10));
  // A copy someone holds is not evicted either.
  ASSERT_TRUE((*Get({c}, 0))[0].has_value());
  ASSERT_TRUE(Create(NewId(), 256 << 10).ok());  // evicts a
  EXPECT_FALSE(store_->Contains(a));
  EXPECT_EQ(Create(NewId(), 256 << 10).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(store_->Contains(c));
}

TEST_F(StoreTest, HalfTheFreeBytesFitAfterAMixedWorkloadByEvicting) {
  // The eviction policy's promise, on top of the allocator: after a mixed workload the store
  // makes room for a large object out of whatever copies it may evict.
  constexpr size_t kCapacity = 64 << 20;
  MakeStore(kCapacity);
  std::mt19937 rng(11);
  std::vector<ObjectId> held;
  for (int step = 0; step < 3000; ++step) {
    uint64_t kind = rng() % 10;
    uint64_t size = kind < 6 ? 64 + rng() % 4096 : kind < 9 ? 4096 + rng() % (256 << 10) : (256 << 10) + rng() % (4 << 20);
    ObjectId id = NewId();
    auto location = Create(id, size, /*primary=*/false);
    ASSERT_TRUE(location.ok()) << location.status();
    ASSERT_TRUE(store_->Seal(kWriter, id).ok());
    // One in ten stays held (mapped by a reader), so cannot be evicted.
    if (rng() % 10 == 0 && held.size() < 50) {
      held.push_back(id);
    } else {
      ASSERT_TRUE(store_->Release(kWriter, id).ok());
    }
  }
  StoreCounters before = store_->Counters();
  std::printf("after the workload: %llu of %llu bytes in use, largest free block %llu, %llu evicted\n",
              static_cast<unsigned long long>(before.used_bytes), static_cast<unsigned long long>(before.capacity),
              static_cast<unsigned long long>(before.largest_free_block),
              static_cast<unsigned long long>(before.num_evicted));
  uint64_t half = (before.capacity - before.used_bytes) / 2;
  auto big = Create(NewId(), std::max<uint64_t>(half, 1));
  ASSERT_TRUE(big.ok()) << big.status();
  for (const ObjectId& id : held) EXPECT_TRUE(store_->Contains(id)) << "a held copy was evicted";
}

TEST_F(StoreTest, DeletingAHeldObjectWaitsForItsLastRelease) {
  MakeStore(1 << 20);
  ObjectId id = Put(100);
  ASSERT_TRUE((*Get({id}, 0))[0].has_value());
  store_->Delete(id);
  EXPECT_TRUE(store_->Contains(id));
  ASSERT_TRUE(store_->Release(kReader, id).ok());
  EXPECT_FALSE(store_->Contains(id));
  EXPECT_EQ(store_->Counters().used_bytes, 0u);
}

TEST_F(StoreTest, AClientThatGoesAwayReleasesWhatItHeldAndItsHalfWrittenObjectVanishes) {
  MakeStore(1 << 20);
  ObjectId sealed = Put(100);
  ASSERT_TRUE((*Get({sealed}, 0))[0].has_value());
  store_->Delete(sealed);  // pending: the reader holds it
  ObjectId half_written = NewId();
  ASSERT_TRUE(Create(half_written, 100, true, 0, kReader).ok());
  // Someone else waits for the half-written object.
  store_->ConnectClient(3);
  std::optional<std::vector<std::optional<ObjectLocation>>> waiting;
  store_->Get(3, {half_written}, 100, [&](auto found) { waiting = std::move(found); });

  store_->DisconnectClient(kReader);
  EXPECT_FALSE(store_->Contains(sealed));
  EXPECT_FALSE(store_->Contains(half_written));
  EXPECT_EQ(store_->Counters().used_bytes, 0u);
  RunUntil([&] { return waiting.has_value(); });
  EXPECT_FALSE((*waiting)[0].has_value());
}

TEST_F(StoreTest, AnOwnersDeathDeletesWhatItOwnedOnceNoOneReadsIt) {
  MakeStore(1 << 20);
  WorkerId owner = WorkerId::FromRandom(), other = WorkerId::FromRandom();
  auto create = [&](const WorkerId& who) {
    ObjectId id = NewId();
    std::optional<absl::StatusOr<ObjectLocation>> result;
    store_->Create(kWriter, id, 100, 0, true, 0, [&](auto r) { result = r; }, who);
    EXPECT_TRUE(result.has_value() && result->ok());
    EXPECT_TRUE(store_->Seal(kWriter, id).ok());
    EXPECT_TRUE(store_->Release(kWriter, id).ok());
    return id;
  };
  ObjectId unread = create(owner), read = create(owner), kept = create(other);
  ASSERT_TRUE((*Get({read}, 0))[0].has_value());
  store_->DeleteOwnedBy(owner);
  EXPECT_FALSE(store_->Contains(unread));
  EXPECT_TRUE(store_->Contains(read)) << "deleted under a reader";
  EXPECT_TRUE(store_->Contains(kept));
  ASSERT_TRUE(store_->Release(kReader, read).ok());
  EXPECT_FALSE(store_->Contains(read));
}

class SpillTest : public StoreTest {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/orrery-spill-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string dir_;
};

TEST_F(SpillTest, PrimariesAboveTheHighWaterMarkSpillAndComeBackByteForByte) {
  MakeStore(1 << 20, dir_);
  std::vector<ObjectId> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(Put(150 << 10, true, static_cast<char>('a' + i)));  // 900 KiB > 80%
  RunUntil([&] { return store_->Counters().num_spilled > 0; });
  EXPECT_LE(store_->Counters().used_bytes, 1u << 20);
  // A create larger than the free space spills more instead of failing.
  ASSERT_TRUE(Create(NewId(), 600 << 10, true, /*wait_ms=*/10'000).ok());

  for (int i = 0; i < 6; ++i) {
    auto found = Get({ids[i]}, 10'000);
    ASSERT_TRUE(found.has_value());
    ASSERT_TRUE((*found)[0].has_value()) << "object " << i << " did not come back";
    const uint8_t* bytes = memory_.data() + (*found)[0]->offset;
    EXPECT_EQ(std::count(bytes, bytes + (150 << 10), static_cast<uint8_t>('a' + i)), 150 << 10) << "object " << i;
    ASSERT_TRUE(store_->Release(kReader, ids[i]).ok());
  }
  // Each object read back from disk counted once, with its bytes.
  StoreCounters counters = store_->Counters();
  EXPECT_GT(counters.num_restored, 0u);
  EXPECT_EQ(counters.restored_bytes, counters.num_restored * (150 << 10));
  EXPECT_EQ(counters.num_received, 0u) << "primaries are no copies from elsewhere";
  // Deleting everything leaves no file behind.
  for (const ObjectId& id : ids) store_->Delete(id);
  RunUntil([&] { return store_->Counters().num_spilled == 0 && store_->Counters().num_objects == 1; });
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
}

TEST_F(SpillTest, ASpillThatFailsReachesTheWaitingCreateAndLosesNothing) {
  // A spill "directory" that cannot take files: every spill fails as a full disk would.
  std::string not_a_dir = dir_ + "/file";
  ASSERT_EQ(std::system(("touch " + not_a_dir).c_str()), 0);
  MakeStore(1 << 20, not_a_dir);
  std::vector<ObjectId> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(Put(256 << 10, true, static_cast<char>('k' + i)));
  auto blocked = Create(NewId(), 256 << 10, true, /*wait_ms=*/10'000);
  EXPECT_EQ(blocked.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(blocked.status().message(), HasSubstr("spill"));
  for (int i = 0; i < 4; ++i) {
    auto found = Get({ids[i]}, 0);
    ASSERT_TRUE((*found)[0].has_value());
    EXPECT_EQ(memory_[(*found)[0]->offset + 1000], static_cast<uint8_t>('k' + i));
  }
}

}  // namespace
}  // namespace orrery::object_store
