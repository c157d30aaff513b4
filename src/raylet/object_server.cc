#include "src/raylet/object_server.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "src/rpc/status_conversion.h"

namespace orrery::raylet {

namespace {

// How long opening an object may wait for the store (restoring a spilled object from disk).
constexpr int64_t kOpenTimeoutMs = 60'000;

// One ReadObject stream. gRPC holds it by raw pointer until OnDone; `self_` keeps it alive
// until then, and work posted to the server's loop holds a shared_ptr too.
class ObjectReadStream final : public grpc::ServerWriteReactor<rpc::ObjectChunk>,
                               public std::enable_shared_from_this<ObjectReadStream> {
 public:
  static std::shared_ptr<ObjectReadStream> Create(int64_t chunk_bytes) {
    std::shared_ptr<ObjectReadStream> stream(new ObjectReadStream(chunk_bytes));
    stream->self_ = stream;
    return stream;
  }

  // Begins writing from `offset`, or ends the stream with the error.
  void Start(absl::StatusOr<std::shared_ptr<const object_store::ObjectBuffer>> buffer, uint64_t offset) {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    if (!buffer.ok()) return FinishLocked(buffer.status());
    buffer_ = std::move(*buffer);
    if (offset > buffer_->data_size) {
      return FinishLocked(absl::OutOfRangeError(absl::StrCat("offset ", offset, " is past the end of object ",
                                                             buffer_->id.Hex(), " (", buffer_->data_size,
                                                             " bytes)")));
    }
    next_ = offset;
    chunk_.set_metadata(buffer_->metadata, buffer_->metadata_size);
    WriteNextLocked();
  }

  void Fail(const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    if (!finished_) FinishLocked(status);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    if (!ok) return FinishLocked(absl::CancelledError("the reader went away"));
    if (next_ >= buffer_->data_size) return FinishLocked(absl::OkStatus());
    WriteNextLocked();
  }

  void OnCancel() override { Fail(absl::CancelledError("the reader cancelled")); }

  void OnDone() override {
    std::shared_ptr<ObjectReadStream> self;
    absl::MutexLock lock(&mu_);
    buffer_.reset();  // the store reference goes now, not with the last posted task
    self = std::move(self_);
  }

 private:
  explicit ObjectReadStream(int64_t chunk_bytes) : chunk_bytes_(static_cast<uint64_t>(chunk_bytes)) {}

  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    uint64_t size = std::min(chunk_bytes_, buffer_->data_size - next_);
    chunk_.set_data_size(buffer_->data_size);
    chunk_.set_offset(next_);
    chunk_.set_data(reinterpret_cast<const char*>(buffer_->data) + next_, size);
    next_ += size;
    StartWrite(&chunk_);
    // Only the first chunk carries the metadata.
    if (!chunk_.metadata().empty()) chunk_.clear_metadata();
  }

  void FinishLocked(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    finished_ = true;
    Finish(rpc::ToGrpcStatus(status));
  }

  const uint64_t chunk_bytes_;
  std::shared_ptr<ObjectReadStream> self_;
  absl::Mutex mu_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<const object_store::ObjectBuffer> buffer_ ABSL_GUARDED_BY(mu_);
  uint64_t next_ ABSL_GUARDED_BY(mu_) = 0;
  rpc::ObjectChunk chunk_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

ObjectServer::ObjectServer(std::shared_ptr<object_store::StoreClient> store, NodeId node, int64_t chunk_bytes)
    : store_(std::move(store)), node_(node), chunk_bytes_(chunk_bytes), loop_(EventLoop::Create("object-server")) {
  loop_->StartThread();
}

ObjectServer::~ObjectServer() { loop_->Stop(); }

grpc::ServerWriteReactor<rpc::ObjectChunk>* ObjectServer::Refuse(const absl::Status& status) {
  auto stream = ObjectReadStream::Create(1);
  stream->Fail(status);
  return stream.get();
}

grpc::ServerWriteReactor<rpc::ObjectChunk>* ObjectServer::Read(const rpc::ReadObjectRequest& request) {
  auto stream = ObjectReadStream::Create(chunk_bytes_);
  auto id = ObjectId::FromBinary(request.object_id());
  if (!id.ok()) {
    stream->Fail(absl::InvalidArgumentError(absl::StrCat("ReadObject: ", id.status().message())));
    return stream.get();
  }
  loop_->Post([this, stream, id = *id, offset = request.offset()] {
    auto not_here = absl::NotFoundError(absl::StrCat("object ", id.Hex(), " is not in the object store of node ",
                                                     node_.Hex()));
    auto contains = store_->Contains(id);
    if (!contains.ok()) return stream->Fail(contains.status());
    if (!*contains) return stream->Fail(not_here);
    auto buffers = store_->Get({id}, kOpenTimeoutMs);
    if (!buffers.ok()) return stream->Fail(buffers.status());
    if ((*buffers)[0] == nullptr) return stream->Fail(not_here);
    stream->Start(std::move((*buffers)[0]), offset);
  });
  return stream.get();
}

void ObjectServer::Free(const rpc::FreeObjectsRequest& request) {
  std::vector<ObjectId> ids;
  for (const std::string& binary : request.object_ids()) {
    if (auto id = ObjectId::FromBinary(binary); id.ok()) ids.push_back(*id);
  }
  if (!ids.empty()) (void)store_->Delete(ids);
}

}  // namespace orrery::raylet
