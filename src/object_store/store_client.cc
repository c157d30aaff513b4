#include "src/object_store/store_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "orrery/object_store.pb.h"
#include "src/common/status.h"
#include "src/object_store/wire.h"

namespace orrery::object_store {

namespace {

absl::Status StoreError(const rpc::StoreError& error) {
  switch (error.code()) {
    case rpc::StoreError::OK: return absl::OkStatus();
    case rpc::StoreError::ALREADY_EXISTS: return absl::AlreadyExistsError(error.message());
    case rpc::StoreError::OUT_OF_MEMORY: return absl::ResourceExhaustedError(error.message());
    case rpc::StoreError::TOO_LARGE: return absl::OutOfRangeError(error.message());
    case rpc::StoreError::IO_ERROR: return absl::InternalError(error.message());
    default: return absl::InvalidArgumentError(error.message());
  }
}

absl::Status ReadFrame(int sock, google::protobuf::MessageLite& message, int* fd) {
  uint8_t header[kFrameHeaderBytes];
  ORRERY_ASSIGN_OR_RETURN(int received_fd, ReceiveWithFd(sock, header, sizeof(header)));
  if (fd != nullptr) *fd = received_fd;
  uint32_t length = DecodeFrameLength(header);
  if (length > kMaxFrameBytes) return absl::DataLossError("the object store sent a frame too long");
  std::string body(length, '\0');
  ORRERY_ASSIGN_OR_RETURN(int extra_fd, ReceiveWithFd(sock, reinterpret_cast<uint8_t*>(body.data()), length));
  if (extra_fd >= 0) ::close(extra_fd);
  if (!message.ParseFromString(body)) return absl::DataLossError("the object store sent a malformed reply");
  return absl::OkStatus();
}

// A reply usually comes within tens of microseconds: poll for it briefly before the read
// blocks, since waking a sleeping thread costs about as much again (see MemoryStore::Wait).
void AwaitReadable(int sock) {
  constexpr auto kSpin = std::chrono::microseconds(100);
  auto until = std::chrono::steady_clock::now() + kSpin;
  pollfd readable{sock, POLLIN, 0};
  while (::poll(&readable, 1, 0) == 0 && std::chrono::steady_clock::now() < until) {
  }
}

}  // namespace

absl::StatusOr<std::shared_ptr<StoreClient>> StoreClient::Connect(const std::string& socket_path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError("object store socket path too long: " + socket_path);
  }
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return ErrnoStatus("socket", errno);
  if (::connect(sock, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    absl::Status status = ErrnoStatus("connecting to the object store at " + socket_path, errno);
    ::close(sock);
    return status;
  }
  rpc::StoreReply hello;
  int fd = -1;
  absl::Status greeted = ReadFrame(sock, hello, &fd);
  if (greeted.ok() && (!hello.has_hello() || fd < 0)) {
    greeted = absl::DataLossError("the object store at " + socket_path + " did not pass its memory");
  }
  if (!greeted.ok()) {
    if (fd >= 0) ::close(fd);
    ::close(sock);
    return greeted;
  }
  auto region = ShmRegion::Map(fd, hello.hello().region_size(), hello.hello().prefaulted());
  if (!region.ok()) {
    ::close(sock);
    return region.status();
  }
  return std::shared_ptr<StoreClient>(new StoreClient(sock, std::move(*region), hello.hello().store_pid()));
}

StoreClient::~StoreClient() { ::close(sock_); }

absl::Status StoreClient::SendLocked(const rpc::StoreRequest& request) {
  if (broken_) return absl::UnavailableError("the connection to the object store is lost");
  absl::Status status = SendFrame(sock_, request, "the object store");
  if (!status.ok()) broken_ = true;
  return status;
}

absl::Status StoreClient::ReadReplyLocked(uint64_t request_id, rpc::StoreReply& reply) {
  AwaitReadable(sock_);
  absl::Status status = ReadFrame(sock_, reply, nullptr);
  if (status.ok() && reply.request_id() != request_id) {
    status = absl::DataLossError("the object store answered another request");
  }
  if (!status.ok()) broken_ = true;
  return status;
}

absl::Status StoreClient::Send(rpc::StoreRequest& request, rpc::StoreReply* reply) {
  std::lock_guard<std::mutex> lock(socket_mu_);
  if (reply != nullptr) request.set_request_id(next_request_++);
  ORRERY_RETURN_IF_ERROR(SendLocked(request));
  if (reply == nullptr) return absl::OkStatus();
  return ReadReplyLocked(request.request_id(), *reply);
}

absl::StatusOr<std::shared_ptr<MutableObject>> StoreClient::Create(const ObjectId& id, uint64_t data_size,
                                                                   uint64_t metadata_size, bool primary,
                                                                   int64_t wait_ms, const WorkerId& owner) {
  rpc::StoreRequest request;
  auto* create = request.mutable_create();
  create->set_object_id(id.Binary());
  create->set_data_size(data_size);
  create->set_metadata_size(metadata_size);
  create->set_primary(primary);
  create->set_wait_ms(wait_ms);
  if (!owner.IsNil()) create->set_owner_id(owner.Binary());
  rpc::StoreReply reply;
  ORRERY_RETURN_IF_ERROR(Send(request, &reply));
  ORRERY_RETURN_IF_ERROR(StoreError(reply.create().error()));
  const rpc::StoreObject& object = reply.create().object();
  auto created = new MutableObject{id, region_->base() + object.offset(), data_size,
                                   region_->base() + object.offset() + data_size, metadata_size};
  std::weak_ptr<StoreClient> weak = weak_from_this();
  // Dropped unsealed: a half-written object never becomes visible. Sealed: our reference goes.
  return std::shared_ptr<MutableObject>(created, [weak](MutableObject* object) {
    if (auto self = weak.lock()) {
      rpc::StoreRequest done;
      if (!object->sealed) {
        done.mutable_abort()->set_object_id(object->id.Binary());
      } else if (!object->released) {
        done.mutable_release()->set_object_id(object->id.Binary());
      }
      if (done.op_case() != rpc::StoreRequest::OP_NOT_SET) (void)self->Send(done, nullptr);
    }
    delete object;
  });
}

absl::Status StoreClient::Seal(MutableObject& object, bool release) {
  rpc::StoreRequest request;
  request.mutable_seal()->set_object_id(object.id.Binary());
  request.mutable_seal()->set_release(release);
  ORRERY_RETURN_IF_ERROR(Send(request, nullptr));
  object.sealed = true;
  object.released = release;
  return absl::OkStatus();
}

void StoreClient::ReleaseInStore(const ObjectId& id, int count) {
  rpc::StoreRequest request;
  request.mutable_release()->set_object_id(id.Binary());
  for (int i = 0; i < count; ++i) (void)Send(request, nullptr);
}

std::shared_ptr<const ObjectBuffer> StoreClient::Hold(const ObjectId& id, uint64_t offset, uint64_t data_size,
                                                      uint64_t metadata_size) {
  auto buffer = new ObjectBuffer{id, region_->base() + offset, data_size, region_->base() + offset + data_size,
                                 metadata_size};
  std::weak_ptr<StoreClient> weak = weak_from_this();
  // The buffer holds the mapping (`region`), not the client: it stays readable after the
  // client is gone.
  return std::shared_ptr<const ObjectBuffer>(buffer, [weak, region = region_](const ObjectBuffer* buffer) {
    if (auto self = weak.lock()) {
      {
        std::lock_guard<std::mutex> lock(self->held_mu_);
        auto it = self->held_.find(buffer->id);
        if (it != self->held_.end() && it->second.expired()) self->held_.erase(it);
      }
      self->ReleaseInStore(buffer->id, 1);
    }
    delete buffer;
  });
}

absl::StatusOr<std::vector<std::shared_ptr<const ObjectBuffer>>> StoreClient::Get(const std::vector<ObjectId>& ids,
                                                                                  int64_t timeout_ms) {
  std::vector<std::shared_ptr<const ObjectBuffer>> result(ids.size());
  rpc::StoreRequest request;
  std::vector<size_t> asked;  // positions in `ids` the store must answer
  {
    std::lock_guard<std::mutex> lock(held_mu_);
    for (size_t i = 0; i < ids.size(); ++i) {
      if (auto it = held_.find(ids[i]); it != held_.end()) result[i] = it->second.lock();
      if (result[i] == nullptr) {
        asked.push_back(i);
        request.mutable_get()->add_object_ids(ids[i].Binary());
      }
    }
  }
  if (asked.empty()) return result;
  request.mutable_get()->set_timeout_ms(timeout_ms);
  rpc::StoreReply reply;
  ORRERY_RETURN_IF_ERROR(Send(request, &reply));
  const auto& get = reply.get();
  if (get.objects_size() != static_cast<int>(asked.size()) || get.found_size() != get.objects_size()) {
    return absl::DataLossError("the object store answered a get with the wrong number of objects");
  }
  std::vector<ObjectId> extra;
  {
    std::lock_guard<std::mutex> lock(held_mu_);
    for (size_t k = 0; k < asked.size(); ++k) {
      if (!get.found(static_cast<int>(k))) continue;
      const ObjectId& id = ids[asked[k]];
      auto& slot = held_[id];
      if (auto existing = slot.lock()) {
        // Another thread got it meanwhile: keep one reference in the store, not two.
        result[asked[k]] = existing;
        extra.push_back(id);
        continue;
      }
      const rpc::StoreObject& object = get.objects(static_cast<int>(k));
      result[asked[k]] = Hold(id, object.offset(), object.data_size(), object.metadata_size());
      slot = result[asked[k]];
    }
  }
  for (const ObjectId& id : extra) ReleaseInStore(id, 1);
  return result;
}

absl::Status StoreClient::Delete(const std::vector<ObjectId>& ids) {
  rpc::StoreRequest request;
  for (const ObjectId& id : ids) request.mutable_delete_()->add_object_ids(id.Binary());
  return Send(request, nullptr);
}

absl::StatusOr<bool> StoreClient::Contains(const ObjectId& id) {
  rpc::StoreRequest request;
  request.mutable_contains()->set_object_id(id.Binary());
  rpc::StoreReply reply;
  ORRERY_RETURN_IF_ERROR(Send(request, &reply));
  return reply.contains().sealed();
}

absl::StatusOr<StoreCounters> StoreClient::Stats() {
  rpc::StoreRequest request;
  request.mutable_stats();
  rpc::StoreReply reply;
  ORRERY_RETURN_IF_ERROR(Send(request, &reply));
  const auto& stats = reply.stats();
  StoreCounters counters;
  counters.capacity = stats.capacity();
  counters.used_bytes = stats.used_bytes();
  counters.num_objects = stats.num_objects();
  counters.num_primary = stats.num_primary();
  counters.num_spilled = stats.num_spilled();
  counters.spilled_bytes = stats.spilled_bytes();
  counters.num_evicted = stats.num_evicted();
  counters.num_clients = stats.num_clients();
  counters.largest_free_block = stats.largest_free_block();
  return counters;
}

}  // namespace orrery::object_store
