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
#include "src/rpc/tls_certificates.h"
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
    options.tls = ServerTls();
    auto objects = raylet::ObjectServer::Start(holder_.client, options);
    ASSERT_TRUE(objects.ok()) << objects.status();
    objects_ = std::move(*objects);
  }

  void TearDown() override {
    objects_.reset();
    std::filesystem::remove_all(root_);
  }

  // The holder's object data socket speaks TLS with these (plain when null).
  virtual std::shared_ptr<const rpc::TlsConfig> ServerTls() { return nullptr; }

  // Stores `size` bytes (i * 7) with metadata "meta" in the holder's store.
  ObjectId StoreOnHolder(uint64_t size = kSize) {
    ObjectId id = ObjectIdOf(TaskId::FromRandom(), 1);
    auto object = holder_.client->Create(id, size, 4, /*primary=*/true, 0);
    EXPECT_TRUE(object.ok()) << object.status();
    for (uint64_t i = 0; i < size; ++i) (*object)->data[i] = static_cast<uint8_t>(i * 7);
    std::memcpy((*object)->metadata, "meta", 4);
    EXPECT_TRUE(holder_.client->Seal(**object, /*release=*/true).ok());
    return id;
  }

  // A puller on node "here" that finds each source at `addresses`, trying them in order.
  ObjectPuller Puller(absl::flat_hash_map<NodeId, HostPort> addresses, std::string token = kToken,
                      std::shared_ptr<const rpc::TlsConfig> tls = nullptr) {
    ObjectPuller::Options options;
    options.local_node = here_.id;
    options.shuffle_sources = false;
    options.token = token;
    options.tls = std::move(tls);
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

  // Whether node "here" holds `id` sealed, its data (i * 7) and metadata intact.
  void ExpectCopied(const ObjectId& id, uint64_t size) {
    auto copy = here_.client->Get({id}, 0);
    ASSERT_TRUE(copy.ok());
    ASSERT_NE((*copy)[0], nullptr);
    ASSERT_EQ((*copy)[0]->data_size, size);
    for (uint64_t i = 0; i < size; ++i) ASSERT_EQ((*copy)[0]->data[i], static_cast<uint8_t>(i * 7)) << i;
    EXPECT_EQ(std::string(reinterpret_cast<const char*>((*copy)[0]->metadata), 4), "meta");
  }

  std::string root_;
  Node here_, holder_;
  std::unique_ptr<raylet::ObjectServer> objects_;
  std::vector<std::pair<ObjectId, NodeId>> copied_;
};

TEST_F(ObjectPullerTest, CopiesTheWholeObjectInChunksAndSealsIt) {
  ObjectId id = StoreOnHolder();
  ObjectPuller puller = Puller({{holder_.id, Holder()}});
  ASSERT_TRUE(puller.Pull(id, {holder_.id}, 10'000).ok());
  ExpectCopied(id, kSize);
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

// The cluster's CA with a certificate for each side, and an outsider's from another cluster's CA.
struct Certificates {
  std::shared_ptr<const rpc::TlsConfig> holder, here;
  // Trusts the cluster's CA, but its own certificate is another CA's.
  std::shared_ptr<const rpc::TlsConfig> outsider;
  // Trusts only the other CA, with a certificate of it.
  std::shared_ptr<const rpc::TlsConfig> other_cluster;
};

std::string IssueFor(const rpc::CertificateAuthority& ca, const std::string& name, std::string* key_pem) {
  auto csr = rpc::MakeKeyAndCsr(name);
  EXPECT_TRUE(csr.ok()) << csr.status();
  auto cert = rpc::IssueCertificate(ca, csr->csr_pem, name, 24 * 3600);
  EXPECT_TRUE(cert.ok()) << cert.status();
  *key_pem = csr->key_pem;
  return cert.value_or("");
}

const Certificates& TestCertificates() {
  static const Certificates* certificates = [] {
    auto ca = rpc::CreateClusterCa();
    auto other = rpc::CreateClusterCa();
    EXPECT_TRUE(ca.ok() && other.ok());
    auto* made = new Certificates;
    auto config = [](const std::string& trusted, const rpc::CertificateAuthority& issuer, const std::string& name) {
      rpc::TlsConfig tls{trusted, "", ""};
      tls.cert_pem = IssueFor(issuer, name, &tls.key_pem);
      return std::make_shared<const rpc::TlsConfig>(std::move(tls));
    };
    made->holder = config(ca->cert_pem, *ca, "node-holder");
    made->here = config(ca->cert_pem, *ca, "node-here");
    made->outsider = config(ca->cert_pem, *other, "node-outsider");
    made->other_cluster = config(other->cert_pem, *other, "node-other");
    return made;
  }();
  return *certificates;
}

// The holder's object data socket speaks TLS.
class ObjectPullerTlsTest : public ObjectPullerTest {
 protected:
  std::shared_ptr<const rpc::TlsConfig> ServerTls() override { return TestCertificates().holder; }
};

TEST_F(ObjectPullerTlsTest, CopiesAnObjectOfSeveralMiBIntact) {
  constexpr uint64_t kLarge = 6 << 20;
  ObjectId id = StoreOnHolder(kLarge);
  ObjectPuller puller = Puller({{holder_.id, Holder()}}, kToken, TestCertificates().here);
  absl::Status status = puller.Pull(id, {holder_.id}, 10'000);
  ASSERT_TRUE(status.ok()) << status;
  ExpectCopied(id, kLarge);
  ASSERT_EQ(copied_.size(), 1u);
}

TEST_F(ObjectPullerTlsTest, TheTokenIsStillCheckedInside) {
  ObjectId id = StoreOnHolder();
  absl::Status status =
      Puller({{holder_.id, Holder()}}, "wrong-token", TestCertificates().here).Pull(id, {holder_.id}, 10'000);
  EXPECT_THAT(status.message(), HasSubstr("wrong cluster token"));
  EXPECT_FALSE(*here_.client->Contains(id));
}

TEST_F(ObjectPullerTlsTest, AReaderWithACertificateOfAnotherCaIsRefused) {
  ObjectId id = StoreOnHolder();
  absl::Status status =
      Puller({{holder_.id, Holder()}}, kToken, TestCertificates().outsider).Pull(id, {holder_.id}, 10'000);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("refused this node's certificate"));
  EXPECT_FALSE(*here_.client->Contains(id));
}

TEST_F(ObjectPullerTlsTest, ASourceWithACertificateOfAnotherCaIsRefusedByTheReader) {
  ObjectId id = StoreOnHolder();
  absl::Status status =
      Puller({{holder_.id, Holder()}}, kToken, TestCertificates().other_cluster).Pull(id, {holder_.id}, 10'000);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("presented no certificate of this cluster's CA"));
  EXPECT_THAT(status.message(), HasSubstr("the peer at 127.0.0.1:" + std::to_string(objects_->port())));
  EXPECT_FALSE(*here_.client->Contains(id));
}

TEST_F(ObjectPullerTlsTest, APlainReaderIsToldThatTlsIsRequired) {
  ObjectId id = StoreOnHolder();
  absl::Status status = Puller({{holder_.id, Holder()}}).Pull(id, {holder_.id}, 10'000);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("requires TLS, and this reader spoke plain TCP"));
  EXPECT_FALSE(*here_.client->Contains(id));
}

TEST_F(ObjectPullerTest, ATlsReaderOfAPlainSourceFailsSayingItSpeaksPlainTcp) {
  ObjectId id = StoreOnHolder();
  absl::Status status =
      Puller({{holder_.id, Holder()}}, kToken, TestCertificates().here).Pull(id, {holder_.id}, 10'000);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("speaks plain TCP, this node requires TLS"));
  EXPECT_FALSE(*here_.client->Contains(id));
}

TEST_F(ObjectPullerTlsTest, APeerSendingNothingIsCutOffAtTheRequestTimeout) {
  UntrustedPeer silent(objects_->port());
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(silent.ClosedWithin(10'000));
  auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_LT(elapsed, std::chrono::milliseconds(kRequestTimeoutMs + 2'000));
  EXPECT_GE(elapsed, std::chrono::milliseconds(kRequestTimeoutMs / 2));
}

// The handshake counts against the request deadline: a peer cannot hold a slot by trickling it.
TEST_F(ObjectPullerTlsTest, APeerTricklingItsHandshakeIsCutOffAtTheRequestTimeout) {
  UntrustedPeer slow(objects_->port());
  auto started = std::chrono::steady_clock::now();
  // A TLS handshake record header announcing 512 bytes, then its body a byte every 100 ms.
  ASSERT_TRUE(slow.Send(std::string("\x16\x03\x01\x02\x00", 5)));
  bool closed = false;
  while (!closed && std::chrono::steady_clock::now() - started < std::chrono::seconds(10)) {
    slow.Send(std::string(1, '\x01'));
    closed = slow.ClosedWithin(100);
  }
  EXPECT_TRUE(closed) << "still connected after 10 s";
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(kRequestTimeoutMs + 2'000));
}

// A TLS handshake record of `payload`.
std::string HandshakeRecord(std::string payload) {
  return std::string("\x16\x03\x01", 3) + static_cast<char>(payload.size() >> 8) +
         static_cast<char>(payload.size() & 0xff) + payload;
}

TEST_F(ObjectPullerTlsTest, APeerSendingMoreThanAHandshakeIsCutOffBeforeTheDeadline) {
  UntrustedPeer large(objects_->port());
  auto started = std::chrono::steady_clock::now();
  // A ClientHello announcing 120,000 bytes (within what TLS allows one), in 4 KiB records: the
  // server stops reading at 16 KiB instead of buffering it all until the request deadline.
  std::string hello_header("\x01\x01\xd4\xc0", 4);
  std::string bytes = HandshakeRecord(hello_header + std::string(4096 - hello_header.size(), 'x'));
  for (int i = 0; i < 15; ++i) bytes += HandshakeRecord(std::string(4096, 'x'));
  large.Send(bytes);
  EXPECT_TRUE(large.ClosedWithin(kRequestTimeoutMs * 4));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(kRequestTimeoutMs / 2))
      << "the server read on until the request deadline";
}

TEST_F(ObjectPullerTlsTest, UnusableCertificatesFailThePullSayingSo) {
  auto broken = std::make_shared<const rpc::TlsConfig>(rpc::TlsConfig{"not a certificate", "", ""});
  absl::Status status = Puller({{holder_.id, Holder()}}, kToken, broken).Pull(StoreOnHolder(), {holder_.id}, 10'000);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr("cluster CA certificate does not parse"));
}

}  // namespace
}  // namespace orrery::core
