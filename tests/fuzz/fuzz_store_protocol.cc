// The object store's Unix-socket protocol as the server reads it (store_server.cc: frames of
// StoreRequest, wire.h), from a client process on the host. Each input gets a fresh StoreServer
// with a small region, a client that takes the greeting and sends the input, then closes its
// side and reads every reply until the server closes.
// Properties: the server answers with well-formed frames only, to requests that were sent; it
// closes the connection once the client is gone (no request holds it open: a hang is a finding);
// it forgets the client and keeps its accounting sound; it still serves afterwards.
//
// Input: a mode byte. Raw mode sends the rest as it is (frame headers and all); framed mode sends
// each length-prefixed piece as one frame's body, so the fuzzer works on messages, not lengths.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <set>
#include <string>

#include "orrery/object_store.pb.h"
#include "tests/fuzz/fuzz_util.h"

#include "src/common/log.h"
#include "src/object_store/store_server.h"
#include "src/object_store/wire.h"

namespace orrery::fuzz {
namespace {

using object_store::kFrameHeaderBytes;

constexpr size_t kCapacity = 1 << 20;

int ConnectTo(const std::string& path) {
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path.copy(address.sun_path, sizeof(address.sun_path) - 1);
  FUZZ_CHECK(connect(sock, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0, "the store accepts");
  // Longer than any request may legitimately hold the connection after the client has gone.
  timeval timeout{10, 0};
  setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  return sock;
}

// Takes the greeting (a frame with the region's descriptor), as StoreClient does.
void TakeGreeting(int sock) {
  uint8_t header[kFrameHeaderBytes];
  auto fd = object_store::ReceiveWithFd(sock, header, sizeof(header));
  FUZZ_CHECK(fd.ok() && *fd >= 0, "the greeting carries the region");
  close(*fd);
  std::string body(object_store::DecodeFrameLength(header), '\0');
  FUZZ_CHECK(object_store::ReceiveAll(sock, body.data(), body.size(), "store").ok(), "the greeting arrives");
  rpc::StoreReply hello;
  FUZZ_CHECK(hello.ParseFromString(body) && hello.has_hello(), "the greeting is a hello");
}

// Reads replies until the server closes; each must be a frame of a StoreReply.
void ReadReplies(int sock, const std::set<uint64_t>& sent_ids, bool know_ids) {
  while (true) {
    uint8_t header[kFrameHeaderBytes];
    size_t received = 0;
    absl::Status status = object_store::ReceiveAll(sock, header, sizeof(header), "store", &received);
    if (!status.ok()) {
      FUZZ_CHECK(status.code() != absl::StatusCode::kDeadlineExceeded, "the server closes a finished connection");
      FUZZ_CHECK(received == 0, "replies end on a frame boundary");
      return;
    }
    uint32_t length = object_store::DecodeFrameLength(header);
    FUZZ_CHECK(length <= object_store::kMaxFrameBytes, "a reply frame is small");
    std::string body(length, '\0');
    FUZZ_CHECK(object_store::ReceiveAll(sock, body.data(), body.size(), "store").ok(), "a reply arrives whole");
    rpc::StoreReply reply;
    FUZZ_CHECK(reply.ParseFromString(body), "a reply parses");
    FUZZ_CHECK(!know_ids || sent_ids.count(reply.request_id()) == 1, "a reply answers a request sent");
  }
}

}  // namespace
}  // namespace orrery::fuzz

// The servers log every garbage request they drop: at fuzzing rates that is most of the time spent.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace orrery;
  using namespace orrery::fuzz;
  FuzzInput input(data, size);
  const bool framed = (input.TakeByte() & 1) != 0;
  std::string stream;
  std::set<uint64_t> sent_ids;
  if (framed) {
    while (!input.empty()) {
      std::string body = input.TakeString(object_store::kMaxFrameBytes);
      rpc::StoreRequest request;
      if (request.ParseFromString(body)) sent_ids.insert(request.request_id());
      for (size_t i = 0; i < kFrameHeaderBytes; ++i) stream.push_back(static_cast<char>(body.size() >> (8 * i)));
      stream += body;
    }
  } else {
    stream = input.Rest();
  }

  TempDir dir;
  object_store::StoreServerOptions options;
  options.socket_path = (dir.path() / "store.sock").string();
  options.capacity = kCapacity;
  auto server = object_store::StoreServer::Start(options);
  FUZZ_CHECK(server.ok(), "the store starts");
  int sock = ConnectTo(options.socket_path);
  TakeGreeting(sock);
  // The server may close part-way (garbage): a failed send is its answer, not a finding.
  (void)object_store::SendAll(sock, stream.data(), stream.size(), "store");
  shutdown(sock, SHUT_WR);
  ReadReplies(sock, sent_ids, framed);
  close(sock);

  object_store::StoreCounters counters = (*server)->Counters();
  FUZZ_CHECK(counters.num_clients == 0, "a client gone is forgotten");
  FUZZ_CHECK(counters.used_bytes <= counters.capacity &&
                 counters.largest_free_block <= counters.capacity - counters.used_bytes,
             "the store's accounting stays within its region");
  FUZZ_CHECK(counters.num_objects != 0 || counters.used_bytes == 0, "an empty store uses no bytes");
  // Still serving: a second client gets its greeting.
  int again = ConnectTo(options.socket_path);
  TakeGreeting(again);
  close(again);
  (*server)->Stop();
  return 0;
}
