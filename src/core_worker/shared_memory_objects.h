// SharedMemoryObjects: a core worker's use of its node's shared-memory object store. Values at
// or above the threshold are written there (the creator's copy is the primary, pinned until the
// owner frees it) and the memory store keeps only a marker naming the node. Reading a marker
// maps the object: the value's payload is a view into shared memory, kept mapped while the
// value lives. A marker naming another node first has the object copied here (see
// ObjectPuller), through the pull function given.
// Thread-safe (the store client is); called from user threads and the task executor.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "orrery/core_worker.pb.h"
#include "src/common/id.h"
#include "src/core_worker/memory_store.h"
#include "src/object_store/store_client.h"

namespace orrery::core {

class SharedMemoryObjects {
 public:
  // Copies an object held by `holder` (another node) into this node's store, within the timeout.
  using PullFunction = std::function<absl::Status(const ObjectId& id, const NodeId& holder, int64_t timeout_ms)>;

  SharedMemoryObjects(std::shared_ptr<object_store::StoreClient> client, NodeId node, int64_t threshold_bytes,
                      int64_t full_wait_ms, PullFunction pull)
      : client_(std::move(client)),
        node_(node),
        threshold_(threshold_bytes),
        full_wait_ms_(full_wait_ms),
        pull_(std::move(pull)) {}

  bool Belongs(size_t payload_size) const { return static_cast<int64_t>(payload_size) >= threshold_; }

  // Writes `value` as `id`'s primary copy and returns its marker. Errors come from the store
  // (ResourceExhausted: full after waiting; OutOfRange: larger than the store), naming sizes.
  // A retried task writes the return ids its earlier attempt wrote: when that attempt died
  // after sealing its copy, the copy is kept and its marker returned (the value of a retried
  // task is either attempt's, as on Ray); when it died half-way, its copy goes once the store
  // sees its connection close, and this write waits for that.
  absl::StatusOr<Value> Write(const ObjectId& id, const internal::SerializedValue& value, const WorkerId& owner);
  // The value behind a marker, as a view into shared memory, or an error value when it cannot
  // be read here (gone, or not copied from the node holding it).
  Value Read(const ObjectId& id, const internal::SerializedValue& marker, int64_t timeout_ms);
  // The owner frees the object: this node's copy goes.
  void Delete(const ObjectId& id);
  // This process lets go of an object it borrowed.
  void Forget(const ObjectId& id);

  // A store failure as what Get raises.
  static rpc::ErrorInfo ToErrorInfo(const absl::Status& status);

 private:
  std::shared_ptr<object_store::StoreClient> client_;
  const NodeId node_;
  const int64_t threshold_;
  const int64_t full_wait_ms_;
  const PullFunction pull_;

  // Creates `id`, or, when an earlier writer's copy is there, returns null once that copy is
  // sealed and creates `id` once it is dropped. AlreadyExists when it is neither within
  // kEarlierWriterWaitMs: the writer is alive, so this is no retry of a dead one.
  absl::StatusOr<std::shared_ptr<object_store::MutableObject>> CreateOrFindEarlier(const ObjectId& id,
                                                                                   uint64_t data_size,
                                                                                   uint64_t metadata_size,
                                                                                   const WorkerId& owner);
  static constexpr int64_t kEarlierWriterWaitMs = 10'000;
  static constexpr int64_t kEarlierWriterPollMs = 20;

  // Recently read small objects stay mapped, so that reading one again needs no round trip to
  // the store. Only objects up to kCachedObjectBytes, and at most 1/16 of the store in all, so
  // that what the cache pins never matters to eviction and spilling.
  static constexpr size_t kCachedObjectBytes = 1 << 20;
  Value Cached(const ObjectId& id);
  void Cache(const ObjectId& id, const Value& value);
  absl::Mutex cache_mu_;
  std::list<ObjectId> cache_order_ ABSL_GUARDED_BY(cache_mu_);  // least recently read first
  absl::flat_hash_map<ObjectId, std::pair<Value, std::list<ObjectId>::iterator>> cache_ ABSL_GUARDED_BY(cache_mu_);
  size_t cache_bytes_ ABSL_GUARDED_BY(cache_mu_) = 0;
};

}  // namespace orrery::core
