#include "src/object_store/store_server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <future>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "boost/asio/local/stream_protocol.hpp"
#include "boost/asio/read.hpp"
#include "boost/asio/write.hpp"
#include "orrery/object_store.pb.h"
#include "src/common/event_loop.h"
#include "src/common/log.h"
#include "src/common/net.h"
#include "src/common/status.h"
#include "src/object_store/shm_region.h"
#include "src/object_store/wire.h"

namespace orrery::object_store {

namespace {

using boost::asio::local::stream_protocol;

// Asio opens and accepts sockets without close-on-exec; the raylet starts processes, which
// must not inherit the store's sockets (a worker holding the store's end of another client's
// connection would keep that client from seeing the store close it).
void KeepFromChildren(int fd) {
  int flags = ::fcntl(fd, F_GETFD);
  if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

rpc::StoreObject ToProto(const ObjectLocation& location) {
  rpc::StoreObject object;
  object.set_object_id(location.id.Binary());
  object.set_offset(location.offset);
  object.set_data_size(location.data_size);
  object.set_metadata_size(location.metadata_size);
  return object;
}

rpc::StoreError ToProto(const absl::Status& status) {
  rpc::StoreError error;
  switch (status.code()) {
    case absl::StatusCode::kOk: error.set_code(rpc::StoreError::OK); break;
    case absl::StatusCode::kAlreadyExists: error.set_code(rpc::StoreError::ALREADY_EXISTS); break;
    case absl::StatusCode::kResourceExhausted: error.set_code(rpc::StoreError::OUT_OF_MEMORY); break;
    case absl::StatusCode::kOutOfRange: error.set_code(rpc::StoreError::TOO_LARGE); break;
    case absl::StatusCode::kInternal: error.set_code(rpc::StoreError::IO_ERROR); break;
    default: error.set_code(rpc::StoreError::INVALID); break;
  }
  error.set_message(std::string(status.message()));
  return error;
}

}  // namespace

class StoreServer::Impl : public std::enable_shared_from_this<Impl> {
 public:
  explicit Impl(StoreServerOptions options) : options_(std::move(options)) {}

  absl::Status Start();
  void Stop();
  // Runs `read` on the store's thread and returns its result (T() once stopped). Blocks.
  template <typename T>
  T Read(std::function<T(const Store&)> read);
  void DeleteOwnedBy(const WorkerId& owner);
  const StoreServerOptions& options() const { return options_; }

 private:
  class Connection;
  void Accept();
  void OnAccepted(stream_protocol::socket socket);
  // The loop, for other threads: Stop takes it (after which Post refuses).
  std::shared_ptr<EventLoop> TakeLoop();
  bool Post(std::function<void()> fn);
  void Disconnect(ClientId client, const std::string& why);

  const StoreServerOptions options_;
  std::mutex loop_mu_;
  std::shared_ptr<EventLoop> loop_ = EventLoop::Create("object-store");
  std::unique_ptr<ShmRegion> region_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<stream_protocol::acceptor> acceptor_;
  absl::flat_hash_map<ClientId, std::shared_ptr<Connection>> connections_;
  ClientId next_client_ = 1;
  bool stopped_ = false;
};

// One client's socket: reads a frame at a time and answers in order of completion.
class StoreServer::Impl::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Impl& server, ClientId id, stream_protocol::socket socket)
      : server_(server), id_(id), socket_(std::move(socket)) {}

  void ReadHeader() {
    boost::asio::async_read(socket_, boost::asio::buffer(header_),
                            [self = shared_from_this()](const boost::system::error_code& error, size_t) {
                              if (error) return self->Close("");
                              uint32_t length = DecodeFrameLength(self->header_);
                              if (length > kMaxFrameBytes) {
                                return self->Close("a frame of " + std::to_string(length) + " bytes");
                              }
                              self->body_.resize(length);
                              self->ReadBody();
                            });
  }

  void Send(const rpc::StoreReply& reply) {
    bool idle = outgoing_.empty();
    outgoing_.push_back(EncodeFrame(reply));
    if (idle) WriteNext();
  }

  void Shutdown() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  void ReadBody() {
    boost::asio::async_read(socket_, boost::asio::buffer(body_),
                            [self = shared_from_this()](const boost::system::error_code& error, size_t) {
                              if (error) return self->Close("");
                              rpc::StoreRequest request;
                              if (!request.ParseFromString(self->body_)) return self->Close("a malformed request");
                              if (std::string bad = self->Handle(request); !bad.empty()) return self->Close(bad);
                              self->ReadHeader();
                            });
  }

  void WriteNext() {
    boost::asio::async_write(socket_, boost::asio::buffer(outgoing_.front()),
                             [self = shared_from_this()](const boost::system::error_code& error, size_t) {
                               if (error) return self->Close("");
                               self->outgoing_.pop_front();
                               if (!self->outgoing_.empty()) self->WriteNext();
                             });
  }

  // Runs one request; returns what was wrong with it, or "" when it was well formed.
  std::string Handle(const rpc::StoreRequest& request);

  void Close(const std::string& garbage) {
    if (closed_) return;
    closed_ = true;
    server_.Disconnect(id_, garbage);
  }

  Impl& server_;
  const ClientId id_;
  stream_protocol::socket socket_;
  uint8_t header_[kFrameHeaderBytes];
  std::string body_;
  std::deque<std::string> outgoing_;
  bool closed_ = false;
};

std::string StoreServer::Impl::Connection::Handle(const rpc::StoreRequest& request) {
  Store& store = *server_.store_;
  std::weak_ptr<Connection> weak = weak_from_this();
  const uint64_t request_id = request.request_id();
  auto id_of = [](const std::string& binary) { return ObjectId::FromBinary(binary); };
  switch (request.op_case()) {
    case rpc::StoreRequest::kCreate: {
      const auto& create = request.create();
      auto id = id_of(create.object_id());
      auto owner = WorkerId::FromOptionalBinary(create.owner_id());
      if (!id.ok() || !owner.ok()) return "a create with a malformed id";
      store.Create(id_, *id, create.data_size(), create.metadata_size(), create.primary(), create.wait_ms(),
                   [weak, request_id](absl::StatusOr<ObjectLocation> result) {
                     auto self = weak.lock();
                     if (!self) return;
                     rpc::StoreReply reply;
                     reply.set_request_id(request_id);
                     *reply.mutable_create()->mutable_error() = ToProto(result.status());
                     if (result.ok()) *reply.mutable_create()->mutable_object() = ToProto(*result);
                     self->Send(reply);
                   },
                   *owner);
      return "";
    }
    case rpc::StoreRequest::kSeal:
    case rpc::StoreRequest::kAbort:
    case rpc::StoreRequest::kRelease: {
      const std::string& binary = request.has_seal()    ? request.seal().object_id()
                                  : request.has_abort() ? request.abort().object_id()
                                                        : request.release().object_id();
      auto id = id_of(binary);
      if (!id.ok()) return "a request with a malformed object id";
      absl::Status status = request.has_seal()    ? store.Seal(id_, *id)
                            : request.has_abort() ? store.Abort(id_, *id)
                                                  : store.Release(id_, *id);
      if (status.ok() && request.has_seal() && request.seal().release()) status = store.Release(id_, *id);
      // No reply: the client did not wait. A client's own mistake is worth a line, not a disconnect.
      if (!status.ok()) spdlog::debug("object store client {}: {}", id_, status.message());
      return "";
    }
    case rpc::StoreRequest::kGet: {
      std::vector<ObjectId> ids;
      for (const std::string& binary : request.get().object_ids()) {
        auto id = id_of(binary);
        if (!id.ok()) return "a get with a malformed object id";
        ids.push_back(*id);
      }
      store.Get(id_, std::move(ids), request.get().timeout_ms(),
                [weak, request_id](std::vector<std::optional<ObjectLocation>> found) {
                  auto self = weak.lock();
                  if (!self) return;
                  rpc::StoreReply reply;
                  reply.set_request_id(request_id);
                  auto* get = reply.mutable_get();
                  for (const auto& location : found) {
                    get->add_found(location.has_value());
                    *get->add_objects() = location ? ToProto(*location) : rpc::StoreObject();
                  }
                  self->Send(reply);
                });
      return "";
    }
    case rpc::StoreRequest::kDelete:
      for (const std::string& binary : request.delete_().object_ids()) {
        auto id = id_of(binary);
        if (!id.ok()) return "a delete with a malformed object id";
        store.Delete(*id);
      }
      return "";
    case rpc::StoreRequest::kContains: {
      auto id = id_of(request.contains().object_id());
      if (!id.ok()) return "a contains with a malformed object id";
      rpc::StoreReply reply;
      reply.set_request_id(request_id);
      reply.mutable_contains()->set_sealed(store.Contains(*id));
      Send(reply);
      return "";
    }
    case rpc::StoreRequest::kStats: {
      StoreCounters counters = store.Counters();
      rpc::StoreReply reply;
      reply.set_request_id(request_id);
      auto* stats = reply.mutable_stats();
      stats->set_capacity(counters.capacity);
      stats->set_used_bytes(counters.used_bytes);
      stats->set_num_objects(counters.num_objects);
      stats->set_num_primary(counters.num_primary);
      stats->set_num_spilled(counters.num_spilled);
      stats->set_spilled_bytes(counters.spilled_bytes);
      stats->set_num_evicted(counters.num_evicted);
      stats->set_num_clients(counters.num_clients);
      stats->set_largest_free_block(counters.largest_free_block);
      Send(reply);
      return "";
    }
    case rpc::StoreRequest::OP_NOT_SET:
      break;
  }
  return "a request with no operation";
}

absl::Status StoreServer::Impl::Start() {
  ORRERY_ASSIGN_OR_RETURN(region_, ShmRegion::Create(options_.capacity, options_.prefault));
  store_ = std::make_unique<Store>(
      loop_->io(), region_->base(),
      StoreOptions{options_.capacity, options_.spill_high_water, options_.spill_dir});
  // Asio's endpoint throws on a path too long for sun_path: refuse it here, naming the limit.
  if (absl::StatusOr<UnixAddress> address = MakeUnixAddress(options_.socket_path); !address.ok()) {
    return absl::InvalidArgumentError("object store socket: " + std::string(address.status().message()));
  }
  ::unlink(options_.socket_path.c_str());
  boost::system::error_code error;
  acceptor_ = std::make_unique<stream_protocol::acceptor>(loop_->io());
  acceptor_->open(stream_protocol(), error);
  if (!error) KeepFromChildren(acceptor_->native_handle());
  if (!error) acceptor_->bind(stream_protocol::endpoint(options_.socket_path), error);
  if (!error) acceptor_->listen(boost::asio::socket_base::max_listen_connections, error);
  if (error) {
    return absl::UnavailableError("object store socket " + options_.socket_path + ": " + error.message());
  }
  Accept();
  loop_->StartThread();
  return absl::OkStatus();
}

void StoreServer::Impl::Accept() {
  acceptor_->async_accept([self = shared_from_this()](const boost::system::error_code& error,
                                                      stream_protocol::socket socket) {
    if (self->stopped_) return;
    if (!error) self->OnAccepted(std::move(socket));
    self->Accept();
  });
}

void StoreServer::Impl::OnAccepted(stream_protocol::socket socket) {
  KeepFromChildren(socket.native_handle());
  ucred peer{};
  socklen_t length = sizeof(peer);
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0 || peer.uid != ::geteuid()) {
    spdlog::warn("object store: refused a client with uid {} (pid {}): only uid {} may connect", peer.uid, peer.pid,
                 ::geteuid());
    return;
  }
  rpc::StoreReply hello;
  hello.mutable_hello()->set_region_size(region_->size());
  hello.mutable_hello()->set_store_pid(::getpid());
  hello.mutable_hello()->set_prefaulted(options_.prefault);
  // The socket is new and the frame small: this never waits for the peer.
  if (absl::Status sent = SendWithFd(socket.native_handle(), EncodeFrame(hello), region_->fd()); !sent.ok()) {
    spdlog::warn("object store: greeting client pid {} failed: {}", peer.pid, sent.message());
    return;
  }
  ClientId id = next_client_++;
  auto connection = std::make_shared<Connection>(*this, id, std::move(socket));
  connections_[id] = connection;
  store_->ConnectClient(id);
  spdlog::debug("object store: client {} connected (pid {})", id, peer.pid);
  connection->ReadHeader();
}

void StoreServer::Impl::Disconnect(ClientId client, const std::string& garbage) {
  auto it = connections_.find(client);
  if (it == connections_.end()) return;
  if (!garbage.empty()) spdlog::warn("object store: client {} sent {}; disconnected", client, garbage);
  it->second->Shutdown();
  connections_.erase(it);
  store_->DisconnectClient(client);
}

void StoreServer::Impl::Stop() {
  std::shared_ptr<EventLoop> loop = TakeLoop();
  if (!loop) return;
  std::promise<void> done;
  loop->Post([this, &done] {
    stopped_ = true;
    boost::system::error_code ignored;
    if (acceptor_) acceptor_->close(ignored);
    for (auto& [id, connection] : connections_) connection->Shutdown();
    connections_.clear();
    done.set_value();
  });
  done.get_future().wait();
  loop->Stop();
  store_.reset();
  ::unlink(options_.socket_path.c_str());
}

std::shared_ptr<EventLoop> StoreServer::Impl::TakeLoop() {
  std::lock_guard<std::mutex> lock(loop_mu_);
  return std::move(loop_);
}

bool StoreServer::Impl::Post(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(loop_mu_);
  if (!loop_) return false;
  loop_->Post(std::move(fn));
  return true;
}

void StoreServer::Impl::DeleteOwnedBy(const WorkerId& owner) {
  Post([self = shared_from_this(), owner] { self->store_->DeleteOwnedBy(owner); });
}

template <typename T>
T StoreServer::Impl::Read(std::function<T(const Store&)> read) {
  auto result = std::make_shared<std::promise<T>>();
  if (!Post([self = shared_from_this(), result, read = std::move(read)] { result->set_value(read(*self->store_)); })) {
    return T();
  }
  return result->get_future().get();
}

absl::StatusOr<std::unique_ptr<StoreServer>> StoreServer::Start(StoreServerOptions options) {
  auto impl = std::make_shared<Impl>(std::move(options));
  ORRERY_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<StoreServer>(new StoreServer(std::move(impl)));
}

StoreServer::~StoreServer() { Stop(); }
void StoreServer::Stop() { impl_->Stop(); }
const std::string& StoreServer::socket_path() const { return impl_->options().socket_path; }
size_t StoreServer::capacity() const { return impl_->options().capacity; }
StoreCounters StoreServer::Counters() {
  return impl_->Read<StoreCounters>([](const Store& store) { return store.Counters(); });
}
std::vector<StoredObject> StoreServer::List(size_t limit) {
  return impl_->Read<std::vector<StoredObject>>([limit](const Store& store) { return store.List(limit); });
}
void StoreServer::DeleteOwnedBy(const WorkerId& owner) { impl_->DeleteOwnedBy(owner); }

}  // namespace orrery::object_store
