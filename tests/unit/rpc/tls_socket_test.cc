// TlsSocket over a socket pair: the file send path (kTLS or the fallback), frames, deadlines.
// The object data socket's use of it (refusals, plain peers) is tested in object_puller_test.cc.
#include "src/rpc/tls_socket.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/rpc/test_certificates.h"

#include "src/rpc/tls_certificates.h"

namespace orrery::rpc {
namespace {

using ::testing::HasSubstr;

using testing::NodeTls;

class TlsSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = CreateClusterCa();
    ASSERT_TRUE(ca.ok()) << ca.status();
    auto server = TlsContext::Create(NodeTls(*ca, "node-a"), TlsContext::Side::kServer);
    auto client = TlsContext::Create(NodeTls(*ca, "node-b"), TlsContext::Side::kClient);
    ASSERT_TRUE(server.ok() && client.ok());
    server_context_ = *server;
    client_context_ = *client;
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0);
  }
  void TearDown() override {
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }

  // Both handshakes, the client's on a thread of its own.
  void Handshake(std::optional<TlsDeadline> deadline = std::nullopt) {
    std::thread client([&] {
      auto socket = TlsSocket::Connect(fds_[1], *client_context_, "the server", 5'000);
      ASSERT_TRUE(socket.ok()) << socket.status();
      client_ = std::move(*socket);
    });
    auto socket = TlsSocket::Accept(fds_[0], *server_context_, "the client", 5'000, deadline);
    client.join();
    ASSERT_TRUE(socket.ok()) << socket.status();
    server_ = std::move(*socket);
  }

  std::shared_ptr<const TlsContext> server_context_, client_context_;
  int fds_[2] = {-1, -1};
  std::unique_ptr<TlsSocket> server_, client_;
};

TEST_F(TlsSocketTest, SendsAFileRangeIntact) {
  ASSERT_NO_FATAL_FAILURE(Handshake());
  constexpr size_t kSize = 3 << 20;
  int file = memfd_create("tls-socket-test", MFD_CLOEXEC);
  ASSERT_GE(file, 0);
  ASSERT_EQ(ftruncate(file, kSize), 0);
  auto* mapped = static_cast<uint8_t*>(mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, file, 0));
  ASSERT_NE(mapped, MAP_FAILED);
  for (size_t i = 0; i < kSize; ++i) mapped[i] = static_cast<uint8_t>(i * 13 + (i >> 16));
  constexpr size_t kOffset = 4097;
  std::vector<uint8_t> received(kSize - kOffset);
  std::thread reader([&] { EXPECT_TRUE(client_->Read(received.data(), received.size()).ok()); });
  absl::Status sent = server_->SendFile(file, kOffset, mapped + kOffset, kSize - kOffset);
  reader.join();
  EXPECT_TRUE(sent.ok()) << sent;
  EXPECT_EQ(std::memcmp(received.data(), mapped + kOffset, received.size()), 0);
  munmap(mapped, kSize);
  close(file);
}

TEST_F(TlsSocketTest, AFrameLongerThanAllowedIsRefusedBeforeItsBody) {
  ASSERT_NO_FATAL_FAILURE(Handshake());
  uint8_t header[4] = {0, 0, 1, 0};  // 64 KiB, little-endian; no body follows
  ASSERT_TRUE(client_->Write(header, sizeof(header)).ok());
  std::string body;
  absl::Status status = server_->ReadFrame(&body, 4096);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(status.message(), HasSubstr("the client"));
}

TEST_F(TlsSocketTest, TheDeadlineEndsAServerWaitingForASilentClient) {
  auto started = std::chrono::steady_clock::now();
  auto socket = TlsSocket::Accept(fds_[0], *server_context_, "the peer at test", 60'000,
                                  started + std::chrono::milliseconds(200));
  EXPECT_EQ(socket.status().code(), absl::StatusCode::kDeadlineExceeded) << socket.status();
  EXPECT_THAT(socket.status().message(), HasSubstr("the peer at test"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST_F(TlsSocketTest, AServerOfAnotherCaIsRefusedByTheClient) {
  auto other = CreateClusterCa();
  ASSERT_TRUE(other.ok());
  TlsConfig foreign = NodeTls(*other, "node-c");
  auto foreign_context = TlsContext::Create(foreign, TlsContext::Side::kServer);
  ASSERT_TRUE(foreign_context.ok());
  std::thread server([&] { (void)TlsSocket::Accept(fds_[0], **foreign_context, "the client", 5'000, std::nullopt); });
  auto socket = TlsSocket::Connect(fds_[1], *client_context_, "the server", 5'000);
  server.join();
  EXPECT_EQ(socket.status().code(), absl::StatusCode::kUnauthenticated) << socket.status();
  EXPECT_THAT(socket.status().message(), HasSubstr("the server presented no certificate of this cluster's CA"));
}

// A user's driver pulls objects too, and need not ignore SIGPIPE: writing to a peer that left
// is an error, not the end of the process.
TEST_F(TlsSocketTest, WritingToAPeerThatLeftIsAnErrorNotSigpipe) {
  ASSERT_NO_FATAL_FAILURE(Handshake());
  signal(SIGPIPE, SIG_DFL);
  server_.reset();
  close(fds_[0]);
  fds_[0] = -1;
  std::string bytes(1 << 20, 'x');
  absl::Status status = client_->Write(bytes.data(), bytes.size());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(), HasSubstr("the server"));
}

}  // namespace
}  // namespace orrery::rpc
