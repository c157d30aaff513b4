// ObjectPuller against real object stores and real gRPC sources: the raylet's ObjectServer, and
// a scripted source that fails part-way. Each node is a StoreServer of its own in this process.
#include "src/core_worker/object_puller.h"

#include <filesystem>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orrery/node_manager.grpc.pb.h"
#include "src/object_store/store_server.h"
#include "src/raylet/object_server.h"
#include "src/rpc/grpc_server.h"
#include "tests/integration/temp_root.h"

namespace orrery::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint64_t kSize = 1 << 20;
constexpr int64_t kChunk = 64 << 10;

// One node's store, and a client of it.
struct Node {
  NodeId id = NodeId::FromRandom();
  std::unique_ptr<object_store::StoreServer> server;
  std::shared_ptr<object_store::StoreClient> client;
};

// Serves ReadObject with the raylet's own ObjectServer.
class RealSource final : public rpc::NodeManagerService::CallbackService {
 public:
  explicit RealSource(raylet::ObjectServer& objects) : objects_(objects) {}
  grpc::ServerWriteReactor<rpc::ObjectChunk>* ReadObject(grpc::CallbackServerContext*,
                                                         const rpc::ReadObjectRequest* request) override {
    return objects_.Read(*request);
  }

 private:
  raylet::ObjectServer& objects_;
};

// Streams the object's bytes inverted (so that a test sees which source wrote which byte) and
// fails with UNAVAILABLE once `fail_at` bytes are sent. Records the offsets asked for.
class FailingSource final : public rpc::NodeManagerService::Service {
 public:
  FailingSource(std::shared_ptr<object_store::StoreClient> store, uint64_t fail_at)
      : store_(std::move(store)), fail_at_(fail_at) {}

  grpc::Status ReadObject(grpc::ServerContext*, const rpc::ReadObjectRequest* request,
                          grpc::ServerWriter<rpc::ObjectChunk>* writer) override {
    {
      absl::MutexLock lock(&mu_);
      offsets_.push_back(request->offset());
    }
    auto buffers = store_->Get({ObjectId::FromBinary(request->object_id()).value()}, 1000);
    auto buffer = (*buffers)[0];
    for (uint64_t at = request->offset(); at < fail_at_; at += kChunk) {
      rpc::ObjectChunk chunk;
      chunk.set_data_size(buffer->data_size);
      chunk.set_offset(at);
      if (at == request->offset()) chunk.set_metadata(buffer->metadata, buffer->metadata_size);
      std::string data(reinterpret_cast<const char*>(buffer->data) + at, kChunk);
      for (char& c : data) c = static_cast<char>(~c);
      chunk.set_data(data);
      writer->Write(chunk);
    }
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the source went away");
  }

  std::vector<uint64_t> offsets() {
    absl::MutexLock lock(&mu_);
    return offsets_;
  }

 private:
  std::shared_ptr<object_store::StoreClient> store_;
  const uint64_t fail_at_;
  absl::Mutex mu_;
  std::vector<uint64_t> offsets_ ABSL_GUARDED_BY(mu_);
};

class ObjectPullerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::MakeTempRoot();
    for (Node* node : {&here_, &holder_}) {
      object_store::StoreServerOptions options;
      options.socket_path = root_ + "/" + node->id.Hex().substr(0, 8) + ".sock";
      options.capacity = 16 << 20;
      auto server = object_store::StoreServer::Start(options);
      ASSERT_TRUE(server.ok()) << server.status();
      node->server = std::move(*server);
      auto client = object_store::StoreClient::Connect(options.socket_path);
      ASSERT_TRUE(client.ok()) << client.status();
      node->client = *client;
    }
    objects_ = std::make_unique<raylet::ObjectServer>(holder_.client, holder_.id, kChunk);
    real_ = std::make_unique<RealSource>(*objects_);
    real_server_ = Serve(real_.get());
  }

  void TearDown() override {
    for (auto& server : servers_) server->Shutdown(100);
    std::filesystem::remove_all(root_);
  }

  std::unique_ptr<rpc::GrpcServer> Serve(grpc::Service* service) {
    rpc::ServerOptions options;
    options.name = "test source";
    options.host = "127.0.0.1";
    auto server = std::make_unique<rpc::GrpcServer>(options);
    server->AddService(service);
    EXPECT_TRUE(server->Start().ok());
    servers_.push_back(server.get());
    return server;
  }

  // Stores kSize bytes (i * 7) with metadata "meta" in the holder's store.
  ObjectId StoreOnHolder() {
    ObjectId id = ObjectIdOf(TaskId::FromRandom(), 1);
    auto object = holder_.client->Create(id, kSize, 4, /*primary=*/true, 0);
    EXPECT_TRUE(object.ok()) << object.status();
    for (uint64_t i = 0; i < kSize; ++i) (*object)->data[i] = static_cast<uint8_t>(i * 7);
    std::memcpy((*object)->metadata, "meta", 4);
    EXPECT_TRUE(holder_.client->Seal(**object, /*release=*/true).ok());
    return id;
  }

  // A puller on node "here" that finds each source at `addresses`, trying them in order.
  ObjectPuller Puller(absl::flat_hash_map<NodeId, std::string> addresses) {
    return ObjectPuller(
        ObjectPuller::Options{here_.id, 0, /*shuffle_sources=*/false}, here_.client,
        [addresses](const NodeId& node) -> absl::StatusOr<NodeDirectory::Client> {
          auto it = addresses.find(node);
          if (it == addresses.end()) return absl::UnavailableError("node " + node.Hex() + " is dead");
          return std::make_shared<raylet::GrpcRayletClient>(it->second, rpc::ClientOptions{"source", "", {}, nullptr});
        },
        [this](const ObjectId& id, const NodeId& node) { copied_.emplace_back(id, node); });
  }

  std::string Address(const rpc::GrpcServer& server) { return "127.0.0.1:" + std::to_string(server.port()); }

  std::string root_;
  Node here_, holder_;
  std::unique_ptr<raylet::ObjectServer> objects_;
  std::unique_ptr<RealSource> real_;
  std::unique_ptr<rpc::GrpcServer> real_server_;
  std::vector<rpc::GrpcServer*> servers_;
  std::vector<std::pair<ObjectId, NodeId>> copied_;
};

TEST_F(ObjectPullerTest, CopiesTheWholeObjectInChunksAndSealsIt) {
  ObjectId id = StoreOnHolder();
  ObjectPuller puller = Puller({{holder_.id, Address(*real_server_)}});
  ASSERT_TRUE(puller.Pull(id, {holder_.id}, 10'000).ok());
  auto copy = here_.client->Get({id}, 0);
  ASSERT_TRUE(copy.ok());
  ASSERT_NE((*copy)[0], nullptr);
  ASSERT_EQ((*copy)[0]->data_size, kSize);
  for (uint64_t i = 0; i < kSize; ++i) ASSERT_EQ((*copy)[0]->data[i], static_cast<uint8_t>(i * 7)) << i;
  EXPECT_EQ(std::string(reinterpret_cast<const char*>((*copy)[0]->metadata), 4), "meta");
  ASSERT_EQ(copied_.size(), 1u);
  EXPECT_EQ(copied_[0].second, here_.id);
}

TEST_F(ObjectPullerTest, ASourceFailingMidwayIsLeftForTheNextWhichContinuesWhereItStopped) {
  ObjectId id = StoreOnHolder();
  FailingSource failing(holder_.client, kSize / 2);
  auto failing_server = Serve(&failing);
  NodeId failing_node = NodeId::FromRandom();
  ObjectPuller puller = Puller({{failing_node, Address(*failing_server)}, {holder_.id, Address(*real_server_)}});
  ASSERT_TRUE(puller.Pull(id, {failing_node, holder_.id}, 10'000).ok());
  EXPECT_THAT(failing.offsets(), ElementsAre(0u));
  auto copy = here_.client->Get({id}, 0);
  ASSERT_TRUE(copy.ok());
  ASSERT_NE((*copy)[0], nullptr);
  // The first half came from the failing source (inverted), the rest from the holder: the pull
  // went on from the byte where the first source stopped, not from the start.
  for (uint64_t i = 0; i < kSize; ++i) {
    uint8_t expected = static_cast<uint8_t>(i * 7);
    if (i < kSize / 2) expected = static_cast<uint8_t>(~expected);
    ASSERT_EQ((*copy)[0]->data[i], expected) << i;
  }
}

TEST_F(ObjectPullerTest, NoSourceHoldingItIsNotFoundNamingEachNode) {
  ObjectId id = ObjectIdOf(TaskId::FromRandom(), 1);
  ObjectPuller puller = Puller({{holder_.id, Address(*real_server_)}});
  absl::Status status = puller.Pull(id, {holder_.id}, 10'000);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_THAT(status.message(), HasSubstr(holder_.id.Hex()));
  EXPECT_THAT(status.message(), HasSubstr("not in the object store"));
  EXPECT_TRUE(copied_.empty());
}

TEST_F(ObjectPullerTest, ADeadSourceIsSkippedAndAnEmptyListIsAnError) {
  ObjectId id = StoreOnHolder();
  NodeId dead = NodeId::FromRandom();
  ObjectPuller puller = Puller({{holder_.id, Address(*real_server_)}});
  EXPECT_TRUE(puller.Pull(id, {dead, holder_.id}, 10'000).ok());
  absl::Status none = puller.Pull(ObjectIdOf(TaskId::FromRandom(), 1), {here_.id}, 10'000);
  EXPECT_EQ(none.code(), absl::StatusCode::kNotFound) << none;
  EXPECT_THAT(none.message(), HasSubstr("no copy"));
}

TEST_F(ObjectPullerTest, AnObjectAlreadyBeingCopiedHereIsAwaitedNotPulledAgain) {
  ObjectId id = StoreOnHolder();
  // Another process of this node (a client of its own) has started the copy.
  auto other_process = object_store::StoreClient::Connect(here_.server->socket_path());
  ASSERT_TRUE(other_process.ok());
  auto other = (*other_process)->Create(id, kSize, 4, /*primary=*/false, 0);
  ASSERT_TRUE(other.ok());
  FailingSource counting(holder_.client, kSize);
  auto server = Serve(&counting);
  NodeId node = NodeId::FromRandom();
  ObjectPuller puller = Puller({{node, Address(*server)}});
  std::thread sealer([&] {
    // The other copy completes while the puller waits for it.
    while (counting.offsets().empty()) std::this_thread::yield();
    ASSERT_TRUE((*other_process)->Seal(**other, /*release=*/true).ok());
  });
  EXPECT_TRUE(puller.Pull(id, {node}, 10'000).ok());
  sealer.join();
  EXPECT_TRUE(copied_.empty());  // not this puller's copy to report
}

}  // namespace
}  // namespace orrery::core
