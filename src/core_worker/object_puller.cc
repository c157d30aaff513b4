#include "src/core_worker/object_puller.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "orrery/node_manager.pb.h"
#include "src/common/status.h"
#include "src/object_store/wire.h"
#include "src/rpc/tls_socket.h"

namespace orrery::core {

// The connection to a source: the plain socket, or TLS over it. The framing is the same.
class SourceConnection {
 public:
  virtual ~SourceConnection() = default;
  virtual absl::Status SendFrame(const google::protobuf::MessageLite& message) = 0;
  virtual absl::Status ReceiveFrame(google::protobuf::MessageLite* message) = 0;
  virtual absl::Status ReceiveAll(void* out, size_t size, size_t* received) = 0;
};

namespace {

class PlainConnection final : public SourceConnection {
 public:
  PlainConnection(int sock, std::string peer) : sock_(sock), peer_(std::move(peer)) {}
  absl::Status SendFrame(const google::protobuf::MessageLite& message) override {
    return object_store::SendFrame(sock_, message, peer_);
  }
  absl::Status ReceiveFrame(google::protobuf::MessageLite* message) override {
    return object_store::ReceiveFrame(sock_, message, peer_);
  }
  absl::Status ReceiveAll(void* out, size_t size, size_t* received) override {
    return object_store::ReceiveAll(sock_, out, size, peer_, received);
  }

 private:
  const int sock_;
  const std::string peer_;
};

class TlsConnection final : public SourceConnection {
 public:
  TlsConnection(std::unique_ptr<rpc::TlsSocket> tls, std::string peer)
      : tls_(std::move(tls)), peer_(std::move(peer)) {}
  absl::Status SendFrame(const google::protobuf::MessageLite& message) override {
    std::string frame = object_store::EncodeFrame(message);
    return tls_->Write(frame.data(), frame.size());
  }
  absl::Status ReceiveFrame(google::protobuf::MessageLite* message) override {
    std::string body;
    ORRERY_RETURN_IF_ERROR(tls_->ReadFrame(&body, object_store::kMaxFrameBytes));
    if (!message->ParseFromString(body)) return absl::DataLossError(peer_ + ": an unreadable message");
    return absl::OkStatus();
  }
  absl::Status ReceiveAll(void* out, size_t size, size_t* received) override { return tls_->Read(out, size, received); }

 private:
  const std::unique_ptr<rpc::TlsSocket> tls_;
  const std::string peer_;
};

}  // namespace

ObjectPuller::ObjectPuller(Options options, std::shared_ptr<object_store::StoreClient> store, Resolver resolve,
                           CopiedCallback on_copied)
    : options_(std::move(options)),
      store_(std::move(store)),
      resolve_(std::move(resolve)),
      on_copied_(std::move(on_copied)) {
  if (options_.tls != nullptr) {
    tls_ = std::make_unique<rpc::RenewableTlsContext>(options_.tls, rpc::TlsContext::Side::kClient);
  }
}

absl::Status ObjectPuller::Pull(const ObjectId& id, std::vector<NodeId> sources, int64_t timeout_ms) {
  if (tls_ != nullptr) ORRERY_RETURN_IF_ERROR(tls_->Get().status());  // no source would help
  sources.erase(std::remove(sources.begin(), sources.end(), options_.local_node), sources.end());
  if (options_.shuffle_sources) {
    thread_local std::minstd_rand random(std::random_device{}());
    std::shuffle(sources.begin(), sources.end(), random);
  }
  std::shared_ptr<object_store::MutableObject> copy;
  uint64_t received = 0;
  std::vector<std::string> failures;
  bool everywhere_absent = true;
  for (const NodeId& source : sources) {
    absl::Status status = PullFrom(source, id, copy, &received);
    if (status.ok()) {
      if (absl::Status sealed = store_->Seal(*copy, /*release=*/true); !sealed.ok()) {
        return Annotate(sealed, absl::StrCat("sealing the copy of object ", id.Hex()));
      }
      if (on_copied_) on_copied_(id, options_.local_node);
      return absl::OkStatus();
    }
    if (status.code() == absl::StatusCode::kAlreadyExists) return AwaitOtherPull(id, timeout_ms);
    if (status.code() == absl::StatusCode::kResourceExhausted || status.code() == absl::StatusCode::kOutOfRange) {
      return status;  // this node's store cannot take it: no other source helps
    }
    everywhere_absent &= status.code() == absl::StatusCode::kNotFound;
    failures.push_back(absl::StrCat("node ", source.Hex(), ": ", status.message()));
  }
  std::string message =
      sources.empty()
          ? absl::StrCat("object ", id.Hex(), " has no copy on another node to pull to node ", options_.local_node.Hex())
          : absl::StrCat("object ", id.Hex(), " could not be copied to node ", options_.local_node.Hex(),
                         " from any node holding it (", absl::StrJoin(failures, "; "), ")");
  return everywhere_absent ? absl::NotFoundError(message) : absl::UnavailableError(message);
}

absl::Status ObjectPuller::PullFrom(const NodeId& source, const ObjectId& id,
                                    std::shared_ptr<object_store::MutableObject>& copy, uint64_t* received) {
  ORRERY_ASSIGN_OR_RETURN(HostPort address, resolve_(source));
  ORRERY_ASSIGN_OR_RETURN(int sock, ConnectTcp(address.host, address.port, options_.io_timeout_ms));
  absl::Status status;
  if (tls_ == nullptr) {
    PlainConnection connection(sock, "the object data socket of node " + source.Hex());
    status = Receive(connection, id, copy, received);
  } else {
    std::string peer = absl::StrCat("the peer at ", address.ToString(), " (node ", source.Hex(), ")");
    absl::StatusOr<std::shared_ptr<const rpc::TlsContext>> context = tls_->Get();
    auto tls = context.ok() ? rpc::TlsSocket::Connect(sock, **context, peer, options_.io_timeout_ms)
                            : absl::StatusOr<std::unique_ptr<rpc::TlsSocket>>(context.status());
    if (tls.ok()) {
      TlsConnection connection(std::move(*tls), peer);
      status = Receive(connection, id, copy, received);
    } else {
      status = tls.status();
    }
  }
  close(sock);
  return status;
}

absl::Status ObjectPuller::Receive(SourceConnection& connection, const ObjectId& id,
                                   std::shared_ptr<object_store::MutableObject>& copy, uint64_t* received) {
  rpc::ObjectDataRequest request;
  request.set_token(options_.token);
  request.set_object_id(id.Binary());
  request.set_offset(*received);
  ORRERY_RETURN_IF_ERROR(connection.SendFrame(request));
  rpc::ObjectDataHeader header;
  ORRERY_RETURN_IF_ERROR(connection.ReceiveFrame(&header));
  if (header.code() != 0) {
    auto code = static_cast<absl::StatusCode>(header.code());
    // Pull() reads these two as this node's store refusing the copy; from a source they mean
    // the source is of no use.
    if (code == absl::StatusCode::kResourceExhausted || code == absl::StatusCode::kOutOfRange) {
      code = absl::StatusCode::kUnavailable;
    }
    return absl::Status(code, header.message());
  }
  if (copy == nullptr) {
    auto created = store_->Create(id, header.data_size(), header.metadata().size(), /*primary=*/false,
                                  options_.full_wait_ms);
    if (!created.ok()) {
      if (created.status().code() == absl::StatusCode::kAlreadyExists) return created.status();
      return Annotate(created.status(), absl::StrCat("storing a copy of object ", id.Hex()));
    }
    copy = std::move(*created);
    std::memcpy(copy->metadata, header.metadata().data(), header.metadata().size());
  } else if (header.data_size() != copy->data_size) {
    return absl::DataLossError(absl::StrCat("it holds ", header.data_size(), " bytes of data where another node held ",
                                            copy->data_size));
  }
  // Every byte that arrived counts, also when the source fails part-way: the next one goes on
  // from there.
  size_t arrived = 0;
  absl::Status status = connection.ReceiveAll(copy->data + *received, copy->data_size - *received, &arrived);
  *received += arrived;
  return status;
}

absl::Status ObjectPuller::AwaitOtherPull(const ObjectId& id, int64_t timeout_ms) {
  auto buffers = store_->Get({id}, timeout_ms);
  if (!buffers.ok()) return buffers.status();
  if ((*buffers)[0] == nullptr) {
    return absl::DeadlineExceededError(absl::StrCat("object ", id.Hex(), " is being copied to node ",
                                                    options_.local_node.Hex(), " by another process, and the copy ",
                                                    "did not arrive within ", timeout_ms, " ms"));
  }
  return absl::OkStatus();
}

}  // namespace orrery::core
