// SharedMemoryObjects against a real object store (a StoreServer on a Unix socket in this
// process). The writers of "earlier attempts" are store clients of their own: destroying a
// client closes its socket without aborting what it created, as a killed worker's death does.
#include "src/core_worker/shared_memory_objects.h"

#include <cstring>
#include <future>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "src/object_store/store_server.h"
#include "tests/integration/temp_root.h"

namespace orrery::core {
namespace {

constexpr int64_t kThreshold = 1024;
constexpr int64_t kFullWaitMs = 1000;

class SharedMemoryObjectsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    object_store::StoreServerOptions options;
    options.socket_path = testing::MakeTempRoot() + "/store.sock";
    options.capacity = 16 << 20;
    auto server = object_store::StoreServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    socket_path_ = options.socket_path;
    objects_ = std::make_unique<SharedMemoryObjects>(
        Connect(), node_, kThreshold, kFullWaitMs,
        [](const ObjectId&, const NodeId&, int64_t) { return absl::UnavailableError("one node only"); });
  }

  std::shared_ptr<object_store::StoreClient> Connect() {
    auto client = object_store::StoreClient::Connect(socket_path_);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *client : nullptr;
  }

  static internal::SerializedValue ValueOf(const std::string& payload) {
    internal::SerializedValue value;
    value.payload = payload;
    return value;
  }

  std::string ReadBack(const ObjectId& id, const Value& marker) {
    Value read = objects_->Read(id, *marker, /*timeout_ms=*/1000);
    return std::string(read->data(), read->size());
  }

  // What an earlier attempt of the task wrote before it was killed: `id` created with `payload`,
  // sealed or not. The returned client is that attempt's process: destroy it to kill it.
  std::shared_ptr<object_store::StoreClient> EarlierAttempt(const ObjectId& id, const std::string& payload,
                                                            bool sealed) {
    auto client = Connect();
    auto object = client->Create(id, payload.size(), 0, /*primary=*/true, 0, WorkerId::FromRandom());
    EXPECT_TRUE(object.ok()) << object.status();
    std::memcpy((*object)->data, payload.data(), payload.size());
    if (sealed) {
      EXPECT_TRUE(client->Seal(**object, /*release=*/true).ok());
    }
    unsealed_.push_back(*object);  // never aborted: the attempt dies holding it
    return client;
  }

  NodeId node_ = NodeId::FromRandom();
  std::string socket_path_;
  std::unique_ptr<object_store::StoreServer> server_;
  std::unique_ptr<SharedMemoryObjects> objects_;
  std::vector<std::shared_ptr<object_store::MutableObject>> unsealed_;
};

TEST_F(SharedMemoryObjectsTest, AValueIsWrittenAndReadBackInPlace) {
  ObjectId id = ObjectId::FromRandom();
  std::string payload(4096, 'a');
  auto marker = objects_->Write(id, ValueOf(payload), WorkerId::FromRandom());
  ASSERT_TRUE(marker.ok()) << marker.status();
  EXPECT_EQ((*marker)->format, internal::Format::kInStore);
  EXPECT_EQ(ReadBack(id, *marker), payload);
}

// The earlier attempt sealed its return and was killed before it replied: the retry's write
// finds the copy and keeps it.
TEST_F(SharedMemoryObjectsTest, ARetryKeepsTheCopyItsKilledEarlierAttemptSealed) {
  ObjectId id = ObjectId::FromRandom();
  std::string payload(1 << 20, 'r');
  auto earlier = EarlierAttempt(id, payload, /*sealed=*/true);
  earlier.reset();  // killed
  auto marker = objects_->Write(id, ValueOf(payload), WorkerId::FromRandom());
  ASSERT_TRUE(marker.ok()) << marker.status();
  EXPECT_EQ(ReadBack(id, *marker), payload);
}

// The earlier attempt was killed between creating its return and sealing it, and the retry
// writes before the store has seen the dead process's socket close: the write waits for the
// half-written copy to go and then writes its own.
TEST_F(SharedMemoryObjectsTest, ARetryWritesOnceTheCopyOfItsKilledEarlierAttemptIsDropped) {
  ObjectId id = ObjectId::FromRandom();
  auto earlier = EarlierAttempt(id, std::string(1 << 20, 'x'), /*sealed=*/false);
  std::string payload(1 << 20, 'y');
  auto retry = std::async(std::launch::async, [&] { return objects_->Write(id, ValueOf(payload), WorkerId()); });
  // The retry is waiting (its create found the earlier copy) until the earlier attempt dies.
  EXPECT_EQ(retry.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  earlier.reset();  // killed
  auto marker = retry.get();
  ASSERT_TRUE(marker.ok()) << marker.status();
  EXPECT_EQ(ReadBack(id, *marker), payload);
}

}  // namespace
}  // namespace orrery::core
