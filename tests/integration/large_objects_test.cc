// Large values end to end, through the public API: Init() starts a real local cluster whose
// raylet holds the shared-memory object store, and this binary is also the job's worker
// program. Values from 100 KiB up travel through the store, never through gRPC.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <numeric>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orrery/api.h"
#include "temp_root.h"

namespace fs = std::filesystem;

std::vector<int64_t> Iota(int64_t count) {
  std::vector<int64_t> values(count);
  std::iota(values.begin(), values.end(), 0);
  return values;
}
int64_t Sum(std::vector<int64_t> values) { return std::accumulate(values.begin(), values.end(), int64_t{0}); }
int64_t SumOfRef(orrery::ObjectRef<std::vector<int64_t>> ref) {
  orrery::ObjectView<int64_t> view = orrery::GetView(ref);
  return std::accumulate(view.begin(), view.end(), int64_t{0});
}
int Pid() { return getpid(); }
ORRERY_REMOTE(Iota, Sum, SumOfRef, Pid);

namespace {

constexpr int64_t kMiB = 1 << 20;

int64_t SumUpTo(int64_t count) { return count * (count - 1) / 2; }

using orrery::testing::MakeTempRoot;

// True when `address` lies in this process's mapping of the node's object store.
bool InObjectStore(const void* address) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  auto at = reinterpret_cast<uintptr_t>(address);
  while (std::getline(maps, line)) {
    if (line.find("memfd:orrery-object-store") == std::string::npos) continue;
    uintptr_t begin = std::stoull(line.substr(0, line.find('-')), nullptr, 16);
    uintptr_t end = std::stoull(line.substr(line.find('-') + 1), nullptr, 16);
    if (at >= begin && at < end) return true;
  }
  return false;
}

// The inodes of the listening Unix sockets bound under `root` whose path ends with `name`.
std::set<std::string> ListeningSockets(const std::string& root, const std::string& name) {
  std::ifstream table("/proc/net/unix");
  std::string line;
  std::set<std::string> inodes;
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, refs, protocol, flags, type, state, inode, path;
    fields >> slot >> refs >> protocol >> flags >> type >> state >> inode >> path;
    // Flags 00010000: listening (the store's accepted connections show its path too).
    if (flags == "00010000" && path.rfind(root, 0) == 0 && path.size() >= name.size() &&
        path.compare(path.size() - name.size(), name.size(), name) == 0) {
      inodes.insert(inode);
    }
  }
  return inodes;
}

// The socket inodes among `pid`'s open descriptors.
std::set<std::string> SocketsOf(int pid) {
  std::set<std::string> inodes;
  for (const auto& entry : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    std::error_code error;
    std::string target = fs::read_symlink(entry.path(), error).string();
    if (!error && target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
  }
  return inodes;
}

// A cluster per suite, with `head_args`; torn down after it.
template <int kStoreMiB, int kFullWaitMs>
class ClusterSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = MakeTempRoot();
    orrery::Config config;
    config.temp_dir = root_;
    config.head_args = {"--num-cpus", "2", "--object-store-memory", std::to_string(kStoreMiB * kMiB)};
    config.object_store_full_wait_ms = kFullWaitMs;
    orrery::Init(config);
  }
  static void TearDownTestSuite() {
    orrery::Shutdown();
    if (std::getenv("ORRERY_TEST_KEEP_DIR") == nullptr) fs::remove_all(root_);
  }
  static inline std::string root_;
};

using LargeObjects = ClusterSuite<3072, 10'000>;

TEST_F(LargeObjects, ATaskReturnsTenMebibytesThroughTheStore) {
  const int64_t count = 10 * kMiB / 8;
  auto ref = orrery::Task(Iota).Remote(count);
  std::shared_ptr<std::vector<int64_t>> values = orrery::Get(ref);
  ASSERT_EQ(values->size(), static_cast<size_t>(count));
  EXPECT_EQ(std::accumulate(values->begin(), values->end(), int64_t{0}), SumUpTo(count));
  // Read in place: the view's bytes are the store's.
  orrery::ObjectView<int64_t> view = orrery::GetView(ref);
  EXPECT_TRUE(InObjectStore(view.data()));
  EXPECT_EQ(view[count - 1], count - 1);
}

TEST_F(LargeObjects, WorkersDoNotInheritTheStoresSockets) {
  std::set<std::string> store = ListeningSockets(root_, "/store.sock");
  ASSERT_EQ(store.size(), 1u) << "no store socket found under " << root_;
  int worker = *orrery::Get(orrery::Task(Pid).Remote());
  for (const std::string& inode : SocketsOf(worker)) {
    EXPECT_EQ(store.count(inode), 0u) << "worker " << worker << " holds the store's listening socket";
  }
}

TEST_F(LargeObjects, ATaskReturnsAGibibyteVector) {
  const int64_t count = 1024 * kMiB / 8;
  std::shared_ptr<std::vector<int64_t>> values = orrery::Get(orrery::Task(Iota).Remote(count));
  ASSERT_EQ(values->size(), static_cast<size_t>(count));
  EXPECT_EQ((*values)[count / 2], count / 2);
  EXPECT_EQ(std::accumulate(values->begin(), values->end(), int64_t{0}), SumUpTo(count));
}

TEST_F(LargeObjects, ALargePutIsReadByManyTasksAndALargeArgumentTravelsByTheStore) {
  const int64_t count = 50 * kMiB / 8;
  auto ref = orrery::Put(Iota(count));
  EXPECT_TRUE(InObjectStore(orrery::GetView(ref).data()));
  std::vector<orrery::ObjectRef<int64_t>> sums;
  for (int i = 0; i < 8; ++i) sums.push_back(orrery::Task(SumOfRef).Remote(ref));
  for (int i = 0; i < 8; ++i) sums.push_back(orrery::Task(Sum).Remote(ref));
  for (const auto& sum : orrery::Get(sums)) EXPECT_EQ(*sum, SumUpTo(count));
  // A large value passed directly goes through the store as well.
  EXPECT_EQ(*orrery::Get(orrery::Task(Sum).Remote(Iota(count))), SumUpTo(count));
}

TEST_F(LargeObjects, AViewOutlivesItsObjectRef) {
  orrery::ObjectView<int64_t> view;
  {
    auto ref = orrery::Put(Iota(4 * kMiB));
    view = orrery::GetView(ref);
  }
  // Every ref is gone; the view still holds the object, and its bytes are intact.
  for (int i = 0; i < 20; ++i) orrery::Put(Iota(4 * kMiB));
  ASSERT_EQ(view.size(), static_cast<size_t>(4 * kMiB));
  EXPECT_TRUE(InObjectStore(view.data()));
  EXPECT_EQ(std::accumulate(view.begin(), view.end(), int64_t{0}), SumUpTo(4 * kMiB));
}

TEST_F(LargeObjects, SmallValuesStayInlineAndStringsHaveViewsToo) {
  auto small = orrery::Put(std::vector<int64_t>{1, 2, 3});
  orrery::ObjectView<int64_t> view = orrery::GetView(small);
  EXPECT_FALSE(InObjectStore(view.data()));
  EXPECT_EQ(view.size(), 3u);
  std::string text(300'000, 'z');
  orrery::ObjectView<char> chars = orrery::GetView(orrery::Put(text));
  EXPECT_TRUE(InObjectStore(chars.data()));
  EXPECT_EQ(std::string(chars.begin(), chars.end()), text);
}

// A small store, and a short wait for room.
using FullStore = ClusterSuite<64, 300>;

TEST_F(FullStore, AValueLargerThanTheWholeStoreIsRefusedAtOnceNamingBothSizes) {
  try {
    orrery::Put(std::vector<char>(65 * kMiB));
    FAIL() << "a 65 MiB value fit into a 64 MiB store";
  } catch (const orrery::ObjectTooLargeError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("a value of " + std::to_string(65 * kMiB) + " bytes"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr(std::to_string(64 * kMiB) + " bytes"));
  }
}

TEST_F(FullStore, APutIntoAStoreFullOfHeldObjectsFailsAfterItsWaitAndLosesNothing) {
  // Viewed objects are mapped by this process: they can be neither evicted nor spilled.
  std::vector<orrery::ObjectView<char>> held;
  for (int i = 0; i < 3; ++i) held.push_back(orrery::GetView(orrery::Put(std::vector<char>(20 * kMiB, 'a' + i))));
  try {
    orrery::Put(std::vector<char>(20 * kMiB));
    FAIL() << "a put into a full store succeeded";
  } catch (const orrery::ObjectStoreFullError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("a value of " + std::to_string(20 * kMiB) + " bytes"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("the object store is full"));
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(std::count(held[i].begin(), held[i].end(), static_cast<char>('a' + i)), 20 * kMiB);
  }
  held.clear();
  // With the views gone the objects may spill: the same put now fits.
  EXPECT_NO_THROW(orrery::Put(std::vector<char>(20 * kMiB)));
}

TEST(ObjectViews, AViewStaysReadableAfterShutdownAndTheJobsThresholdReachesItsWorkers) {
  std::string root = MakeTempRoot();
  orrery::Config config;
  config.temp_dir = root;
  config.head_args = {"--num-cpus", "1", "--object-store-memory", std::to_string(256 * kMiB)};
  config.max_inline_object_bytes = 64 * kMiB;
  orrery::Init(config);
  // Below this job's threshold: the worker's 10 MiB result comes back inline, not in the store.
  orrery::ObjectView<int64_t> result = orrery::GetView(orrery::Task(Iota).Remote(10 * kMiB / 8));
  EXPECT_FALSE(InObjectStore(result.data()));
  // Above it (72 MiB): in the store, and readable after the store's client is gone.
  orrery::ObjectView<int64_t> view = orrery::GetView(orrery::Put(Iota(9 * kMiB)));
  EXPECT_TRUE(InObjectStore(view.data()));
  orrery::Shutdown();
  ASSERT_EQ(view.size(), static_cast<size_t>(9 * kMiB));
  EXPECT_EQ(std::accumulate(view.begin(), view.end(), int64_t{0}), SumUpTo(9 * kMiB));
  fs::remove_all(root);
}

}  // namespace

int main(int argc, char** argv) {
  // In a worker process this serves tasks and never returns.
  orrery::internal::ServeIfWorker();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
