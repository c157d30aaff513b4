// The shared-memory object store inside a real raylet, used by several real client processes
// (orrery-test-store-client) and by this process through the same client library.
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <deque>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/common/file_util.h"
#include "src/common/process.h"
#include "src/object_store/store_client.h"
#include "tests/integration/test_cluster.h"

namespace orrery::testing {
namespace {

using object_store::StoreClient;
using ::testing::HasSubstr;

constexpr int64_t kMiB = 1 << 20;

ObjectId NewId() { return ObjectIdOf(TaskId::FromRandom(), 1); }

// A client process and where its output goes.
struct Tool {
  ChildProcess process;
  std::string out;
  std::string err;
  // Waits for it to end; its exit code (-1 if killed or still running after a minute).
  int Wait() {
    WaitForExit(process.pidfd, 60'000);
    std::optional<int> status = TryReap(process.pidfd);
    return status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  }
  std::string Output() const { return ReadFileToString(out).value_or("") + ReadFileToString(err).value_or(""); }
};

class ObjectStoreTest : public ::testing::Test {
 protected:
  void StartCluster(int64_t store_bytes, std::vector<std::string> extra = {}) {
    ClusterOptions options;
    options.head.extra_flags = {absl::StrCat("--object-store-memory=", store_bytes)};
    options.head.extra_flags.insert(options.head.extra_flags.end(), extra.begin(), extra.end());
    auto cluster = TestCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
    socket_ = cluster_->session().StoreSocket(cluster_->raylet(0).node_id);
    auto client = StoreClient::Connect(socket_);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *client;
  }

  void TearDown() override {
    for (Tool& tool : tools_) {
      kill(tool.process.pid, SIGKILL);
      tool.Wait();
      close(tool.process.pidfd);
    }
    client_.reset();
    cluster_.reset();
    if (!mounted_.empty()) {
      umount(mounted_.c_str());
      rmdir(mounted_.c_str());
    }
  }

  Tool& Run(std::vector<std::string> args) {
    static int counter = 0;
    Tool tool;
    tool.out = absl::StrCat(cluster_->root(), "/tool-", counter, ".out");
    tool.err = absl::StrCat(cluster_->root(), "/tool-", counter++, ".err");
    SpawnOptions spawn;
    spawn.argv = {BinDir() + "/orrery-test-store-client"};
    spawn.argv.insert(spawn.argv.end(), args.begin(), args.end());
    spawn.stdout_path = tool.out;
    spawn.stderr_path = tool.err;
    spawn.die_with_parent = true;
    auto child = Spawn(spawn);
    EXPECT_TRUE(child.ok()) << child.status();
    tool.process = child.value_or(ChildProcess{});
    tools_.push_back(tool);
    return tools_.back();
  }

  // Puts from this process: `size` bytes of `fill`.
  absl::Status Put(const ObjectId& id, int64_t size, uint8_t fill, int64_t wait_ms = 10'000) {
    auto object = client_->Create(id, size, 0, /*primary=*/true, wait_ms);
    if (!object.ok()) return object.status();
    std::memset((*object)->data, fill, size);
    return client_->Seal(**object);
  }

  // Gets from this process and checks every byte.
  void ExpectBytes(const ObjectId& id, int64_t size, uint8_t fill) {
    auto got = client_->Get({id}, 30'000);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_NE((*got)[0], nullptr) << "object " << id << " is missing";
    ASSERT_EQ((*got)[0]->data_size, static_cast<uint64_t>(size));
    const uint8_t* data = (*got)[0]->data;
    EXPECT_EQ(std::count(data, data + size, fill), size) << "object " << id << " has other bytes";
  }

  object_store::StoreCounters Stats() {
    auto stats = client_->Stats();
    EXPECT_TRUE(stats.ok()) << stats.status();
    return stats.value_or(object_store::StoreCounters{});
  }

  std::unique_ptr<TestCluster> cluster_;
  std::string socket_;
  std::shared_ptr<StoreClient> client_;
  std::deque<Tool> tools_;  // stable references: Run hands them out
  std::string mounted_;     // a tmpfs to unmount at the end
};

TEST_F(ObjectStoreTest, SeveralProcessesCreateSealAndGetTheSameAndDifferentIdsAtOnce) {
  StartCluster(256 * kMiB);
  TaskId shared = TaskId::FromRandom();
  std::vector<Tool*> racers;
  for (int i = 0; i < 4; ++i) racers.push_back(&Run({"race", socket_, shared.Hex()}));
  for (Tool* racer : racers) EXPECT_EQ(racer->Wait(), 0) << racer->Output();
  // Exactly one copy of each shared object exists, with the bytes its one creator wrote.
  for (uint32_t k = 1; k <= 20; ++k) ExpectBytes(ObjectIdOf(shared, k), 4096 * k, static_cast<uint8_t>(k));
  EXPECT_EQ(Stats().num_objects, 20u);
}

TEST_F(ObjectStoreTest, AClientKilledWhileHoldingObjectsReleasesThem) {
  StartCluster(64 * kMiB);
  ObjectId id = NewId();
  Tool& holder = Run({"put", socket_, id.Hex(), std::to_string(8 * kMiB), "5", "hold"});
  ASSERT_TRUE(Eventually([&] { return holder.Output().find("holding") != std::string::npos; })) << holder.Output();
  // Deleted while held: it must stay until the holder lets go.
  ASSERT_TRUE(client_->Delete({id}).ok());
  EXPECT_TRUE(*client_->Contains(id));
  kill(holder.process.pid, SIGKILL);
  ASSERT_TRUE(Eventually([&] { return !*client_->Contains(id); }));
  EXPECT_EQ(Stats().used_bytes, 0u);
}

TEST_F(ObjectStoreTest, AClientKilledMidWriteLeavesNoHalfObject) {
  StartCluster(64 * kMiB);
  ObjectId id = NewId();
  Tool& writer = Run({"half", socket_, id.Hex(), std::to_string(4 * kMiB)});
  ASSERT_TRUE(Eventually([&] { return writer.Output().find("writing") != std::string::npos; })) << writer.Output();
  auto during = client_->Get({id}, 100);
  ASSERT_TRUE(during.ok());
  EXPECT_EQ((*during)[0], nullptr) << "an unsealed object was visible";
  kill(writer.process.pid, SIGKILL);
  ASSERT_TRUE(Eventually([&] { return Stats().used_bytes == 0; }));
  EXPECT_FALSE(*client_->Contains(id));
  // The id is free again: someone else may make it whole.
  ASSERT_TRUE(Put(id, 4 * kMiB, 9).ok());
  ExpectBytes(id, 4 * kMiB, 9);
}

TEST_F(ObjectStoreTest, ObjectsOfAProcessThatDiesAreDeleted) {
  StartCluster(64 * kMiB);
  auto driver = cluster_->StartDriver();
  ASSERT_TRUE(driver.ok()) << driver.status();
  ObjectId owned = NewId(), other = NewId();
  Tool& putter = Run({"put", socket_, owned.Hex(), std::to_string(kMiB), "1", "owner=" + driver->worker_id.Hex()});
  ASSERT_EQ(putter.Wait(), 0) << putter.Output();
  ASSERT_TRUE(Put(other, kMiB, 2).ok());
  ASSERT_TRUE(*client_->Contains(owned));
  kill(driver->pid, SIGKILL);
  ASSERT_TRUE(Eventually([&] { return !*client_->Contains(owned); })) << "the dead owner's object stayed";
  EXPECT_TRUE(*client_->Contains(other));
}

TEST_F(ObjectStoreTest, GarbageOnTheSocketDisconnectsThatClientAndTheStoreServesOthers) {
  StartCluster(64 * kMiB);
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_.c_str(), sizeof(address.sun_path) - 1);
  ASSERT_EQ(connect(sock, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  const char garbage[] = "\xff\xff\xff\x7fGET / HTTP/1.1\r\n\r\n";
  ASSERT_GT(send(sock, garbage, sizeof(garbage), MSG_NOSIGNAL), 0);
  // The store closes the connection: reads drain the greeting, then reach the end.
  char buffer[4096];
  ssize_t n;
  while ((n = recv(sock, buffer, sizeof(buffer), 0)) > 0) {
  }
  // Closed with our garbage unread, the connection may end in a reset instead of an EOF.
  EXPECT_TRUE(n == 0 || errno == ECONNRESET) << "the store kept a client that sent garbage: " << strerror(errno);
  close(sock);
  ObjectId id = NewId();
  ASSERT_TRUE(Put(id, 1000, 3).ok());
  ExpectBytes(id, 1000, 3);
  std::string log = ReadFileToString(cluster_->session().LogsDir() + "/raylet-" +
                                     cluster_->raylet(0).node_id.Hex() + ".log")
                        .value_or("");
  EXPECT_THAT(log, HasSubstr("disconnected"));
}

TEST_F(ObjectStoreTest, CreatingAnIdTwiceAndOutsizedObjectsFailNamingWhy) {
  StartCluster(64 * kMiB);
  ObjectId id = NewId();
  ASSERT_TRUE(Put(id, 100, 1).ok());
  absl::Status again = Put(id, 100, 1);
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(again.message(), HasSubstr(id.Hex()));
  absl::Status huge = Put(NewId(), 65 * kMiB, 1);
  EXPECT_EQ(huge.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(huge.message(), HasSubstr(absl::StrCat(65 * kMiB, " bytes")));
  EXPECT_THAT(huge.message(), HasSubstr(absl::StrCat(64 * kMiB, " bytes")));
  // A get of an id never created answers at its timeout, empty.
  auto never = client_->Get({NewId()}, 200);
  ASSERT_TRUE(never.ok());
  EXPECT_EQ((*never)[0], nullptr);
}

TEST_F(ObjectStoreTest, FillingTheStoreSpillsAndEveryObjectComesBackByteForByte) {
  StartCluster(64 * kMiB);
  std::vector<ObjectId> ids;
  for (int i = 0; i < 12; ++i) {  // 96 MiB of primaries into 64 MiB
    ids.push_back(NewId());
    Tool& putter = Run({"put", socket_, ids.back().Hex(), std::to_string(8 * kMiB), std::to_string(10 + i)});
    ASSERT_EQ(putter.Wait(), 0) << putter.Output();
  }
  EXPECT_GT(Stats().num_spilled, 0u);
  for (int i = 0; i < 12; ++i) {
    ExpectBytes(ids[i], 8 * kMiB, static_cast<uint8_t>(10 + i));
    // And from another process.
    Tool& getter = Run({"get", socket_, ids[i].Hex(), std::to_string(8 * kMiB), std::to_string(10 + i), "30000"});
    EXPECT_EQ(getter.Wait(), 0) << getter.Output();
  }
}

TEST_F(ObjectStoreTest, ASpillDirectoryThatFillsUpFailsTheCreateAndLosesNothing) {
  // A 4 MiB tmpfs: an 8 MiB object cannot spill there.
  char pattern[] = "/tmp/ot-spill-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  std::string spill = pattern;
  if (mount("tmpfs", spill.c_str(), "tmpfs", 0, "size=4m") != 0) {
    rmdir(spill.c_str());
    GTEST_SKIP() << "cannot mount a small tmpfs here (" << strerror(errno) << "): needs root";
  }
  mounted_ = spill;
  StartCluster(32 * kMiB, {"--spill-dir=" + spill});
  std::vector<ObjectId> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(NewId());
    ASSERT_TRUE(Put(ids.back(), 8 * kMiB, static_cast<uint8_t>(40 + i)).ok());
  }
  absl::Status blocked = Put(NewId(), 16 * kMiB, 1, /*wait_ms=*/10'000);
  EXPECT_EQ(blocked.code(), absl::StatusCode::kInternal) << blocked;
  EXPECT_THAT(blocked.message(), HasSubstr("No space left on device"));
  for (int i = 0; i < 3; ++i) ExpectBytes(ids[i], 8 * kMiB, static_cast<uint8_t>(40 + i));
}

TEST_F(ObjectStoreTest, OneGibibyteObjectsGoInAndComeOut) {
  StartCluster(3072 * kMiB);
  ObjectId id = NewId();
  Tool& putter = Run({"put", socket_, id.Hex(), std::to_string(1024 * kMiB), "77"});
  ASSERT_EQ(putter.Wait(), 0) << putter.Output();
  ExpectBytes(id, 1024 * kMiB, 77);
  ObjectId second = NewId();
  ASSERT_TRUE(Put(second, 1024 * kMiB, 78).ok());
  Tool& getter = Run({"get", socket_, second.Hex(), std::to_string(1024 * kMiB), "78", "30000"});
  EXPECT_EQ(getter.Wait(), 0) << getter.Output();
}

}  // namespace
}  // namespace orrery::testing
