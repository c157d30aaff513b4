// The object-data protocol between raylets (object_server.h): a reader connects to a raylet's
// object data port and sends a framed ObjectDataRequest (token, object id, offset); the server
// answers with a framed ObjectDataHeader and the bytes. The real ObjectServer runs here over a
// real store holding one object, and each input is sent to it over TCP; or, for the reader's side
// (object_puller.cc), the input is what a source sent back, decoded with the reader's ReceiveFrame.
// Properties (the oracle decodes the input as the protocol says):
//   - the server answers only a whole, parseable request frame of at most 4 KiB, else closes;
//   - without the cluster token the answer is Unauthenticated and no byte of the object;
//   - with it, a malformed id, an unknown object or an offset past the end is refused, and a
//     good request gets the object's size, metadata and exactly its bytes from the offset;
//   - the reader accepts only a whole frame that parses, and refuses an oversized one.
//
// Input: a mode byte. 0: raw bytes to the server. 1: a request built from fields (token choice,
// id choice, offset), framed correctly. 2: raw bytes to the reader.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "google/protobuf/stubs/logging.h"
#include "orrery/node_manager.pb.h"
#include "tests/fuzz/fuzz_util.h"

#include "src/common/log.h"
#include "src/common/net.h"
#include "src/object_store/store_server.h"
#include "src/object_store/wire.h"
#include "src/raylet/object_server.h"

namespace orrery::fuzz {
namespace {

using object_store::kFrameHeaderBytes;

constexpr const char* kToken = kObjectDataToken;
constexpr uint32_t kMaxRequestBytes = 4 << 10;  // object_server.cc's bound
constexpr size_t kObjectBytes = 3000;
const std::string kMetadata = "fuzz-metadata";

// A store with one object, and the object server in front of it. Built once: they are the
// system under test, and a request changes nothing in them.
struct Node {
  Node() {
    object_store::StoreServerOptions store_options;
    store_options.socket_path = (dir.path() / "store.sock").string();
    store_options.capacity = 1 << 20;
    store_server = std::move(*object_store::StoreServer::Start(store_options));
    store = *object_store::StoreClient::Connect(store_options.socket_path);
    object_id = *ObjectId::FromBinary(std::string(ObjectId::kSize, kObjectDataIdByte));
    auto object = *store->Create(object_id, kObjectBytes, kMetadata.size(), /*primary=*/true, 0);
    for (size_t i = 0; i < kObjectBytes; ++i) data.push_back(static_cast<char>(i * 7 + i / 251));
    std::memcpy(object->data, data.data(), data.size());
    std::memcpy(object->metadata, kMetadata.data(), kMetadata.size());
    FUZZ_CHECK(store->Seal(*object).ok(), "the object seals");
    raylet::ObjectServer::Options options;
    options.node = NodeId::FromRandom();
    options.host = "127.0.0.1";
    options.token = kToken;
    options.io_timeout_ms = 5'000;
    options.request_timeout_ms = 2'000;
    server = std::move(*raylet::ObjectServer::Start(store, options));
  }

  TempDir dir;
  std::unique_ptr<object_store::StoreServer> store_server;
  std::shared_ptr<object_store::StoreClient> store;
  std::unique_ptr<raylet::ObjectServer> server;
  ObjectId object_id;
  std::string data;
};

Node& TheNode() {
  static Node* node = [] {
    auto* built = new Node();
    // The node lives until the process ends (its threads too); its directory need not outlive it.
    std::atexit([] { std::filesystem::remove_all(TheNode().dir.path()); });
    return built;
  }();
  return *node;
}

// The request the server should read from `stream`, or nothing when it must answer nothing.
std::optional<rpc::ObjectDataRequest> ExpectedRequest(const std::string& stream) {
  if (stream.size() < kFrameHeaderBytes) return std::nullopt;
  uint32_t length = object_store::DecodeFrameLength(reinterpret_cast<const uint8_t*>(stream.data()));
  if (length > kMaxRequestBytes || stream.size() - kFrameHeaderBytes < length) return std::nullopt;
  rpc::ObjectDataRequest request;
  if (!request.ParseFromArray(stream.data() + kFrameHeaderBytes, static_cast<int>(length))) return std::nullopt;
  return request;
}

std::string ReadToEnd(int sock) {
  std::string out;
  char buffer[8192];
  while (true) {
    ssize_t n = recv(sock, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    FUZZ_CHECK(n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK), "the server closes a finished connection");
    if (n <= 0) return out;
    out.append(buffer, static_cast<size_t>(n));
  }
}

// As ConnectTcp, but a connect() that a signal interrupts (libFuzzer's timer sends SIGALRM every
// second) is waited for instead of failed: ConnectTcp reports it as Unavailable.
std::optional<int> ConnectLoopback(int port) {
  int sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  SetSocketTimeouts(sock, 10'000);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(sock, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    int error = errno;
    if (error == EINTR) {
      pollfd writable{sock, POLLOUT, 0};
      while (poll(&writable, 1, 10'000) < 0 && errno == EINTR) {
      }
      socklen_t length = sizeof(error);
      getsockopt(sock, SOL_SOCKET, SO_ERROR, &error, &length);
    }
    if (error != 0) {
      std::fprintf(stderr, "connecting to port %d: %s\n", port, std::strerror(error));
      close(sock);
      return std::nullopt;
    }
  }
  return sock;
}

void CheckServer(const std::string& stream) {
  Node& node = TheNode();
  auto sock = ConnectLoopback(node.server->port());
  FUZZ_CHECK(sock.has_value(), "the object server accepts");
  (void)object_store::SendAll(*sock, stream.data(), stream.size(), "object server");
  shutdown(*sock, SHUT_WR);
  const std::string answer = ReadToEnd(*sock);
  // Closed with a reset, not a FIN: the server closed first, and its end would otherwise wait in
  // TIME_WAIT, so that at fuzzing rates (~600 connections a second) the ephemeral ports run out.
  linger reset{1, 0};
  setsockopt(*sock, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  close(*sock);

  std::optional<rpc::ObjectDataRequest> request = ExpectedRequest(stream);
  if (!request.has_value()) {
    FUZZ_CHECK(answer.empty(), "no answer to anything but a whole request frame");
    return;
  }
  FUZZ_CHECK(answer.size() >= kFrameHeaderBytes, "a request gets a header");
  uint32_t length = object_store::DecodeFrameLength(reinterpret_cast<const uint8_t*>(answer.data()));
  FUZZ_CHECK(answer.size() - kFrameHeaderBytes >= length, "the header arrives whole");
  rpc::ObjectDataHeader header;
  FUZZ_CHECK(header.ParseFromArray(answer.data() + kFrameHeaderBytes, static_cast<int>(length)), "the header parses");
  const std::string rest = answer.substr(kFrameHeaderBytes + length);
  const auto code = static_cast<absl::StatusCode>(header.code());
  if (request->token() != kToken) {
    FUZZ_CHECK(code == absl::StatusCode::kUnauthenticated && rest.empty(), "no token, no object");
    return;
  }
  if (!ObjectId::FromBinary(request->object_id()).ok()) {
    FUZZ_CHECK(code == absl::StatusCode::kInvalidArgument && rest.empty(), "a malformed id is refused");
    return;
  }
  if (request->object_id() != node.object_id.Binary()) {
    FUZZ_CHECK(code == absl::StatusCode::kNotFound && rest.empty(), "an unknown object is not found");
    return;
  }
  if (request->offset() > node.data.size()) {
    FUZZ_CHECK(code == absl::StatusCode::kOutOfRange && rest.empty(), "an offset past the end is refused");
    return;
  }
  FUZZ_CHECK(code == absl::StatusCode::kOk && header.data_size() == node.data.size() && header.metadata() == kMetadata,
             "a good request gets the object's header");
  FUZZ_CHECK(rest == node.data.substr(request->offset()), "a good request gets the object's bytes from the offset");
}

// A request from fields, so that most inputs pass the framing and reach the checks behind it.
std::string BuiltRequest(FuzzInput& input) {
  rpc::ObjectDataRequest request;
  const uint8_t choices = input.TakeByte();
  request.set_token(choices % 3 == 0 ? kToken : choices % 3 == 1 ? "" : input.TakeString(64));
  request.set_object_id((choices / 3) % 2 == 0 ? TheNode().object_id.Binary() : input.TakeString(64));
  uint64_t offset = 0;
  for (int i = 0; i < 8; ++i) offset = offset << 8 | input.TakeByte();
  request.set_offset((choices & 0x80) != 0 ? offset : offset % (kObjectBytes + 2));
  return object_store::EncodeFrame(request);
}

void CheckReader(const std::string& stream) {
  int fds[2];
  FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0, "a socket pair");
  // Far less than the pair's buffer: written whole before the reader starts.
  (void)object_store::SendAll(fds[0], stream.data(), std::min<size_t>(stream.size(), 64 << 10), "test");
  close(fds[0]);
  rpc::ObjectDataHeader header;
  absl::Status status = object_store::ReceiveFrame(fds[1], &header, "fuzzed source");
  close(fds[1]);
  bool whole = stream.size() >= kFrameHeaderBytes;
  uint32_t length = whole ? object_store::DecodeFrameLength(reinterpret_cast<const uint8_t*>(stream.data())) : 0;
  whole = whole && length <= object_store::kMaxFrameBytes && stream.size() - kFrameHeaderBytes >= length;
  rpc::ObjectDataHeader expected;
  bool parses = whole && expected.ParseFromArray(stream.data() + kFrameHeaderBytes, static_cast<int>(length));
  FUZZ_CHECK(status.ok() == parses, "the reader accepts exactly a whole frame that parses");
  FUZZ_CHECK(!status.ok() || header.SerializeAsString() == expected.SerializeAsString(), "the reader reads the frame");
  FUZZ_CHECK(
      status.ok() || status.code() == absl::StatusCode::kDataLoss || status.code() == absl::StatusCode::kUnavailable,
      "a bad frame is DataLoss, a short one Unavailable");
}

}  // namespace
}  // namespace orrery::fuzz

// The server logs every garbage request it drops, and protobuf every token that is not UTF-8: at
// fuzzing rates that is most of the time spent.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*, int, const std::string&) {});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace orrery::fuzz;
  FuzzInput input(data, size);
  switch (input.TakeByte() % 3) {
    case 0:
      CheckServer(input.Rest());
      break;
    case 1:
      CheckServer(BuiltRequest(input));
      break;
    case 2:
      CheckReader(input.Rest());
      break;
  }
  return 0;
}
