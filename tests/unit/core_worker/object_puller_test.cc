// ObjectPuller against real object stores and real sources: the raylet's ObjectServer on a
// loopback port, and a scripted source that fails part-way. Each node is a StoreServer of its
// own in this process.
#include "src/core_worker/object_puller.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orrery/node_manager.pb.h"
#include "src/common/net.h"
#include "src/object_store/store_server.h"
#include "src/object_store/wire.h"
#include "src/raylet/object_server.h"
#include "tests/integration/temp_root.h"

namespace orrery::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint64_t kSize = 1 << 20;
// Short, so that a peer that never sends its request is cut off quickly.
constexpr int64_t kRequestTimeoutMs = 500;
constexpr char kToken[] = "cluster-token";

// One node's store, and a client of it.
struct Node {
  NodeId id = NodeId::FromRandom();
  std::unique_ptr<object_store::StoreServer> server;
  std::shared_ptr<object_store::StoreClient> client;
};

// An object data socket that sends the object's bytes inverted (so that a test sees which
// source wrote which byte) and closes the connection once `fail_at` bytes are sent. Records the
// offsets asked for. Serves one connection at a time on its own thread.
class FailingSource {
 public:
  FailingSource(std::shared_ptr<object_store::StoreClient> store, uint64_t fail_at)
      : store_(std::move(store)), fail_at_(fail_at) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(listen(listener_, 8), 0);
    getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] {
      for (int sock; (sock = accept(listener_, nullptr, nullptr)) >= 0; close(sock)) Serve(sock);
    });
  }
  ~FailingSource() {
    shutdown(listener_, SHUT_RDWR);
    thread_.join();
    close(listener_);
  }

  HostPort address() const { return HostPort{"127.0.0.1", port_}; }
  std::vector<uint64_t> offsets() {
    absl::MutexLock lock(&mu_);
    return offsets_;
  }

 private:
  void Serve(int sock) {
    rpc::ObjectDataRequest request;
    if (!object_store::ReceiveFrame(sock, &request, "test").ok()) return;
    {
      absl::MutexLock lock(&mu_);
      offsets_.push_back(request.offset());
    }
    auto buffers = store_->Get({ObjectId::FromBinary(request.object_id()).value()}, 1000);
    auto buffer = (*buffers)[0];
    rpc::ObjectDataHeader header;
    header.set_data_size(buffer->data_size);
    header.set_metadata(buffer->metadata, buffer->metadata_size);
    if (!object_store::SendFrame(sock, header, "test").ok()) return;
    std::string data(reinterpret_cast<const char*>(buffer->data) + request.offset(), fail_at_ - request.offset());
    for (char& c : data) c = static_cast<char>(~c);
    (void)object_store::SendAll(sock, data.data(), data.size(), "test");
  }

  std::shared_ptr<object_store::StoreClient> store_;
  const uint64_t fail_at_;
  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
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
    raylet::ObjectServer::Options options;
    options.node = holder_.id;
    options.host = "127.0.0.1";
    options.token = kToken;
    options.request_timeout_ms = kRequestTimeoutMs;
    auto objects = raylet::ObjectServer::Start(holder_.client, options);
    ASSERT_TRUE(objects.ok()) << objects.status();
    objects_ = std::move(*objects);
  }

  void TearDown() override {
    objects_.reset();
    std::filesystem::remove_all(root_);
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
  ObjectPuller Puller(absl::flat_hash_map<NodeId, HostPort> addresses, std::string token = kToken) {
    ObjectPuller::Options options;
    options.local_node = here_.id;
    options.shuffle_sources = false;
    options.token = token;
    return ObjectPuller(
        options, here_.client,
        [addresses](const NodeId& node) -> absl::StatusOr<HostPort> {
          auto it = addresses.find(node);
          if (it == addresses.end()) return absl::UnavailableError("node " + node.Hex() + " is dead");
          return it->second;
        },
        [this](const ObjectId& id, const NodeId& node) { copied_.emplace_back(id, node); });
  }

  HostPort Holder() const { return HostPort{"127.0.0.1", objects_->port()}; }

  std::string root_;
  Node here_, holder_;
  std::unique_ptr<raylet::ObjectServer> objects_;
  std::vector<std::pair<ObjectId, NodeId>> copied_;
};

TEST_F(ObjectPullerTest, CopiesTheWholeObjectInChunksAndSealsIt) {
  ObjectId id = StoreOnHolder();
  ObjectPuller puller = Puller({{holder_.id, Holder()}});
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
  NodeId failing_node = NodeId::FromRandom();
  ObjectPuller puller = Puller({{failing_node, failing.address()}, {holder_.id, Holder()}});
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
  ObjectPuller puller = Puller({{holder_.id, Holder()}});
  absl::Status status = puller.Pull(id, {holder_.id}, 10'000);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_THAT(status.message(), HasSubstr(holder_.id.Hex()));
  EXPECT_THAT(status.message(), HasSubstr("not in the object store"));
  EXPECT_TRUE(copied_.empty());
}

TEST_F(ObjectPullerTest, AWrongTokenIsRefusedAndNothingIsStored) {
  ObjectId id = StoreOnHolder();
  ObjectPuller puller = Puller({{holder_.id, Holder()}}, "wrong-token");
  absl::Status status = puller.Pull(id, {holder_.id}, 10'000);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("wrong cluster token"));
  EXPECT_FALSE(*here_.client->Contains(id));
}

// The object data socket of a node, connected to as a peer that has not authenticated.
class UntrustedPeer {
 public:
  explicit UntrustedPeer(int port) : fd_(*ConnectTcp("127.0.0.1", port, 10'000)) {}
  ~UntrustedPeer() { close(fd_); }
  bool Send(const std::string& bytes) { return send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) > 0; }
  // Whether the server ends the connection within `ms` (rather than wait for more from this peer).
  bool ClosedWithin(int ms) {
    char byte;
    pollfd readable{fd_, POLLIN, 0};
    return poll(&readable, 1, ms) == 1 && recv(fd_, &byte, 1, MSG_DONTWAIT) <= 0;
  }

 private:
  int fd_;
};

// Regression (issue 23): a peer could hold one of the server's few connections for 30 s per
// byte it sent, and make it buffer a 1 MiB frame, all before showing the cluster token.
TEST_F(ObjectPullerTest, APeerTricklingItsRequestIsCutOffAtTheRequestTimeout) {
  UntrustedPeer slow(objects_->port());
  auto started = std::chrono::steady_clock::now();
  // The header of a 200-byte request, then its body a byte every 100 ms.
  uint32_t length = 200;
  ASSERT_TRUE(slow.Send(std::string(reinterpret_cast<const char*>(&length), sizeof(length))));
  bool closed = false;
  while (!closed && std::chrono::steady_clock::now() - started < std::chrono::seconds(10)) {
    slow.Send(std::string(1, '\x01'));
    closed = slow.ClosedWithin(100);
  }
  EXPECT_TRUE(closed) << "still connected after 10 s";
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(kRequestTimeoutMs + 2'000));
}

TEST_F(ObjectPullerTest, ARequestTooLongToBeOneIsRefusedBeforeItsBodyIsRead) {
  UntrustedPeer large(objects_->port());
  uint32_t length = 1 << 20;  // the header of a 1 MiB frame, little-endian; no body follows
  ASSERT_TRUE(large.Send(std::string(reinterpret_cast<const char*>(&length), sizeof(length))));
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(large.ClosedWithin(10'000));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(kRequestTimeoutMs))
      << "the server waited for the body";
  // And a real reader is served meanwhile.
  ObjectId id = StoreOnHolder();
  EXPECT_TRUE(Puller({{holder_.id, Holder()}}).Pull(id, {holder_.id}, 10'000).ok());
}

TEST_F(ObjectPullerTest, ADeadSourceIsSkippedAndAnEmptyListIsAnError) {
  ObjectId id = StoreOnHolder();
  NodeId dead = NodeId::FromRandom();
  ObjectPuller puller = Puller({{holder_.id, Holder()}});
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
  NodeId node = NodeId::FromRandom();
  ObjectPuller puller = Puller({{node, counting.address()}});
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
