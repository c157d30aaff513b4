#include "src/raylet/object_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "src/common/log.h"
#include "src/common/net.h"
#include "src/common/status.h"
#include "src/object_store/wire.h"
#include "src/rpc/auth.h"
#include "src/rpc/tls_socket.h"

namespace orrery::raylet {

namespace {

// How long opening an object may wait for the store (restoring a spilled object from disk).
constexpr int64_t kOpenTimeoutMs = 60'000;
// A request is a token, an id and an offset: a longer frame is refused before it is read.
constexpr uint32_t kMaxRequestBytes = 4 << 10;

rpc::ObjectDataHeader Refusal(const absl::Status& status) {
  rpc::ObjectDataHeader header;
  header.set_code(static_cast<int>(status.code()));
  header.set_message(std::string(status.message()));
  return header;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ObjectServer>> ObjectServer::Start(std::shared_ptr<object_store::StoreClient> store,
                                                                   Options options) {
  std::unique_ptr<rpc::RenewableTlsContext> tls;
  if (options.tls != nullptr) {
    tls = std::make_unique<rpc::RenewableTlsContext>(options.tls, rpc::TlsContext::Side::kServer);
    ORRERY_RETURN_IF_ERROR(tls->Get().status());  // a bad identity fails the start, not each reader
  }
  absl::StatusOr<TcpListener> listener = ListenTcp(options.host, options.port);
  if (!listener.ok()) return Annotate(listener.status(), "the object data socket");
  std::unique_ptr<ObjectServer> server(new ObjectServer(std::move(store), std::move(options), listener->fd, listener->port));
  server->tls_ = std::move(tls);
  server->stop_fd_ = eventfd(0, EFD_CLOEXEC);
  server->acceptor_ = std::thread([s = server.get()] { s->AcceptLoop(); });
  return server;
}

ObjectServer::ObjectServer(std::shared_ptr<object_store::StoreClient> store, Options options, int listen_fd, int port)
    : store_(std::move(store)), options_(std::move(options)), listen_fd_(listen_fd), port_(port) {}

ObjectServer::~ObjectServer() {
  Stop();
  close(listen_fd_);
  if (stop_fd_ >= 0) close(stop_fd_);
}

void ObjectServer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    // Readers blocked in recv or send return at once.
    for (auto& [fd, thread] : connections_) shutdown(fd, SHUT_RDWR);
  }
  slot_freed_.notify_all();
  uint64_t one = 1;
  if (stop_fd_ >= 0) (void)!write(stop_fd_, &one, sizeof(one));
  if (acceptor_.joinable()) acceptor_.join();
  std::unique_lock<std::mutex> lock(mu_);
  slot_freed_.wait(lock, [this] { return connections_.empty(); });
  std::vector<std::thread> finished = std::move(finished_);
  lock.unlock();
  for (std::thread& thread : finished) thread.join();
}

void ObjectServer::AcceptLoop() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    std::vector<std::thread> finished;
    std::unique_lock<std::mutex> lock(mu_);
    slot_freed_.wait(lock, [this] {
      return stopping_ || static_cast<int>(connections_.size()) < options_.max_connections;
    });
    if (stopping_) return;
    finished.swap(finished_);
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) connections_.emplace(fd, std::thread([this, fd] { Serve(fd); }));
    lock.unlock();
    for (std::thread& thread : finished) thread.join();
  }
}

void ObjectServer::Serve(int fd) {
  SetSocketTimeouts(fd, options_.io_timeout_ms);
  absl::Status status = tls_ != nullptr ? ServeTls(fd) : ServePlain(fd);
  if (!status.ok()) spdlog::debug("serving an object to another node: {}", status.message());
  std::lock_guard<std::mutex> lock(mu_);
  close(fd);  // under the lock: Stop() never shuts down a number reused by another connection
  auto it = connections_.find(fd);
  finished_.push_back(std::move(it->second));
  connections_.erase(it);
  slot_freed_.notify_all();
}

absl::Status ObjectServer::CountSent(absl::Status sent, uint64_t bytes) {
  if (sent.ok()) bytes_sent_.fetch_add(bytes, std::memory_order_relaxed);
  return sent;
}

absl::Status ObjectServer::ServePlain(int fd) {
  const std::string peer = "object data connection";
  rpc::ObjectDataRequest request;
  // Nothing more is read, nor held, for a peer that has not shown the token yet.
  ORRERY_RETURN_IF_ERROR(
      object_store::ReceiveFrameWithin(fd, &request, peer, kMaxRequestBytes, options_.request_timeout_ms));
  std::shared_ptr<const object_store::ObjectBuffer> object;
  rpc::ObjectDataHeader header = Open(request, &object);
  ORRERY_RETURN_IF_ERROR(object_store::SendFrame(fd, header, peer));
  if (object == nullptr) return absl::OkStatus();
  uint64_t offset = request.offset();
  return CountSent(object_store::SendFileAll(fd, store_->region_fd(), store_->FileOffsetOf(object->data) + offset,
                                             object->data_size - offset, peer),
                   object->data_size - offset);
}

absl::Status ObjectServer::ServeTls(int fd) {
  // One deadline for the handshake and the request together: a peer without a certificate of
  // the cluster's CA holds a slot no longer than one without the token, and the server reads no
  // more than TlsSocket::kMaxUntrustedBytes from it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.request_timeout_ms);
  const std::string peer = rpc::PeerAt(fd);
  ORRERY_ASSIGN_OR_RETURN(bool speaks_tls, rpc::PeerStartsTls(fd, deadline, peer));
  if (!speaks_tls) {
    // A plain reader (a node without TLS) is told why, in its own framing. Its request is read
    // (bounded as on a plain socket) and dropped unparsed, so the close that follows is not a
    // reset that could discard the answer.
    rpc::ObjectDataRequest ignored;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    (void)object_store::ReceiveFrameWithin(fd, &ignored, peer, kMaxRequestBytes, std::max<int64_t>(left.count(), 1));
    absl::Status refused = absl::FailedPreconditionError(
        absl::StrCat("the object data socket of node ", options_.node.Hex(),
                     " requires TLS, and this reader spoke plain TCP: give it the cluster's TLS certificates"));
    (void)object_store::SendFrame(fd, Refusal(refused), peer);
    return absl::FailedPreconditionError(peer + " speaks plain TCP, this node requires TLS");
  }
  ORRERY_ASSIGN_OR_RETURN(std::shared_ptr<const rpc::TlsContext> context, tls_->Get());
  ORRERY_ASSIGN_OR_RETURN(std::unique_ptr<rpc::TlsSocket> tls,
                          rpc::TlsSocket::Accept(fd, *context, peer, options_.io_timeout_ms, deadline));
  if (std::string name = tls->PeerCommonName(); rpc::CertificateNameRefused(name)) {
    return absl::UnauthenticatedError(
        absl::StrCat(peer, " presented the certificate of node ", name, ", which the cluster declared dead"));
  }
  std::string body;
  ORRERY_RETURN_IF_ERROR(tls->ReadFrame(&body, kMaxRequestBytes));
  rpc::ObjectDataRequest request;
  if (!request.ParseFromString(body)) return absl::DataLossError(peer + ": an unreadable object data request");
  tls->Trusted();  // its request is read; the token is checked next
  std::shared_ptr<const object_store::ObjectBuffer> object;
  std::string header = object_store::EncodeFrame(Open(request, &object));
  ORRERY_RETURN_IF_ERROR(tls->Write(header.data(), header.size()));
  if (object == nullptr) return absl::OkStatus();
  uint64_t offset = request.offset();
  return CountSent(tls->SendFile(store_->region_fd(), store_->FileOffsetOf(object->data) + offset,
                                 object->data + offset, object->data_size - offset),
                   object->data_size - offset);
}

rpc::ObjectDataHeader ObjectServer::Open(const rpc::ObjectDataRequest& request,
                                         std::shared_ptr<const object_store::ObjectBuffer>* object) {
  if (!rpc::TokensEqual(request.token(), options_.token)) {
    return Refusal(absl::UnauthenticatedError("the object data request carries a wrong cluster token"));
  }
  auto id = ObjectId::FromBinary(request.object_id());
  if (!id.ok()) return Refusal(absl::InvalidArgumentError(absl::StrCat("object data request: ", id.status().message())));
  auto not_here = absl::NotFoundError(
      absl::StrCat("object ", id->Hex(), " is not in the object store of node ", options_.node.Hex()));
  auto contains = store_->Contains(*id);
  if (!contains.ok()) return Refusal(contains.status());
  if (!*contains) return Refusal(not_here);
  auto buffers = store_->Get({*id}, kOpenTimeoutMs);
  if (!buffers.ok()) return Refusal(buffers.status());
  if ((*buffers)[0] == nullptr) return Refusal(not_here);
  std::shared_ptr<const object_store::ObjectBuffer> buffer = std::move((*buffers)[0]);
  if (request.offset() > buffer->data_size) {
    return Refusal(absl::OutOfRangeError(absl::StrCat("offset ", request.offset(), " is past the end of object ",
                                                      id->Hex(), " (", buffer->data_size, " bytes)")));
  }
  rpc::ObjectDataHeader header;
  header.set_data_size(buffer->data_size);
  header.set_metadata(buffer->metadata, buffer->metadata_size);
  *object = std::move(buffer);
  return header;
}

void ObjectServer::Free(const rpc::FreeObjectsRequest& request) {
  std::vector<ObjectId> ids;
  for (const std::string& binary : request.object_ids()) {
    if (auto id = ObjectId::FromBinary(binary); id.ok()) ids.push_back(*id);
  }
  if (!ids.empty()) (void)store_->Delete(ids);
}

}  // namespace orrery::raylet
