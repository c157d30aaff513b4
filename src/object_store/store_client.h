// StoreClient: one process's connection to its raylet's shared-memory object store. It maps the
// region once (the descriptor comes with the store's greeting) and then reads and writes
// objects in place.
//
// Round trips cost ~75 µs here, so only Create, Get of an object this process does not already
// hold, Contains and Stats wait for the store; Seal, Release, Abort and Delete are sent without
// waiting. An object is held as a shared_ptr: the last copy going releases it in the store, and
// a repeated Get of a held object is answered from this process's own table.
//
// Thread-safe: calls from many threads take turns on the one socket, so a Get that waits for an
// unsealed object delays the others (the core worker only waits for objects it knows are sealed).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "src/common/id.h"
#include "src/object_store/shm_region.h"
#include "src/object_store/store.h"

namespace orrery::rpc {
class StoreRequest;
class StoreReply;
}  // namespace orrery::rpc

namespace orrery::object_store {

// A sealed object, read-only, alive in the store (and mapped here) while this lives.
struct ObjectBuffer {
  ObjectId id;
  const uint8_t* data = nullptr;
  uint64_t data_size = 0;
  const uint8_t* metadata = nullptr;
  uint64_t metadata_size = 0;
};

// An object being written. Seal it when written; dropped unsealed, it is aborted.
struct MutableObject {
  ObjectId id;
  uint8_t* data = nullptr;
  uint64_t data_size = 0;
  uint8_t* metadata = nullptr;
  uint64_t metadata_size = 0;
  bool sealed = false;
  bool released = false;
};

class StoreClient : public std::enable_shared_from_this<StoreClient> {
 public:
  static absl::StatusOr<std::shared_ptr<StoreClient>> Connect(const std::string& socket_path);
  ~StoreClient();
  StoreClient(const StoreClient&) = delete;
  StoreClient& operator=(const StoreClient&) = delete;

  // Errors: AlreadyExists, OutOfRange (larger than the store), ResourceExhausted (full after
  // waiting up to `wait_ms` for room), Internal (spilling failed), Unavailable (store gone).
  // `owner` (nil: none) is the worker whose death deletes the object.
  absl::StatusOr<std::shared_ptr<MutableObject>> Create(const ObjectId& id, uint64_t data_size,
                                                        uint64_t metadata_size, bool primary, int64_t wait_ms,
                                                        const WorkerId& owner = WorkerId());
  // Makes the object visible and immutable. The MutableObject must not be written afterwards;
  // with `release`, not read either (this process's reference goes with the seal).
  absl::Status Seal(MutableObject& object, bool release = false);
  // One entry per id: null when not sealed within `timeout_ms` (< 0: forever).
  absl::StatusOr<std::vector<std::shared_ptr<const ObjectBuffer>>> Get(const std::vector<ObjectId>& ids,
                                                                       int64_t timeout_ms);
  // Deletes the objects (once unreferenced).
  absl::Status Delete(const std::vector<ObjectId>& ids);
  absl::StatusOr<bool> Contains(const ObjectId& id);
  absl::StatusOr<StoreCounters> Stats();

  size_t capacity() const { return region_->size(); }
  // The region's file and where a byte of it lies in that file: for sending an object's bytes
  // with sendfile(), without copying them through this process.
  int region_fd() const { return region_->fd(); }
  uint64_t FileOffsetOf(const uint8_t* byte) const { return static_cast<uint64_t>(byte - region_->base()); }
  int store_pid() const { return store_pid_; }

 private:
  StoreClient(int sock, std::unique_ptr<ShmRegion> region, int store_pid)
      : sock_(sock), region_(std::move(region)), store_pid_(store_pid) {}

  // Sends a request; with `reply`, waits for its answer. Caller holds no lock.
  absl::Status Send(rpc::StoreRequest& request, rpc::StoreReply* reply);
  absl::Status SendLocked(const rpc::StoreRequest& request);
  absl::Status ReadReplyLocked(uint64_t request_id, rpc::StoreReply& reply);
  void ReleaseInStore(const ObjectId& id, int count);
  std::shared_ptr<const ObjectBuffer> Hold(const ObjectId& id, uint64_t offset, uint64_t data_size,
                                           uint64_t metadata_size);

  const int sock_;
  // Shared with every buffer handed out: a view read after the client is gone stays mapped.
  const std::shared_ptr<ShmRegion> region_;
  const int store_pid_;
  std::mutex socket_mu_;  // one request (and its reply) on the socket at a time
  uint64_t next_request_ = 1;
  bool broken_ = false;

  // The objects this process holds, so that a repeated Get needs no round trip.
  std::mutex held_mu_;
  absl::flat_hash_map<ObjectId, std::weak_ptr<const ObjectBuffer>> held_;
};

}  // namespace orrery::object_store
