// Store: the object table of one raylet's shared-memory object store: which object lies where
// in the region, who holds references to it, who waits for it, and what is spilled to disk.
//
// Life of an object: Create (the creator gets a writable range and holds one reference) → Seal
// (immutable and visible to Get) → Release by each holder → Delete by its owner (at once, or
// when the last reference goes). Primary copies stay until deleted: under memory pressure they
// are spilled to files and restored on the next Get. Other copies are evicted least recently
// used first.
//
// Threading: every method runs on the store's loop thread (the io_context given); disk I/O runs
// on the spill thread this class owns, and its results are posted back.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/steady_timer.hpp"
#include "src/common/event_loop.h"
#include "src/common/id.h"
#include "src/object_store/allocator.h"

namespace orrery::object_store {

using ClientId = uint64_t;

struct StoreOptions {
  size_t capacity = 0;
  // Above this fraction of the capacity in use, unreferenced primaries are spilled.
  double spill_high_water = 0.8;
  // Where spilled objects go. Empty: never spill.
  std::string spill_dir;
};

struct ObjectLocation {
  ObjectId id;
  uint64_t offset = 0;
  uint64_t data_size = 0;
  uint64_t metadata_size = 0;
};

struct StoreCounters {
  uint64_t capacity = 0;
  uint64_t used_bytes = 0;
  uint64_t num_objects = 0;
  uint64_t num_primary = 0;
  uint64_t num_spilled = 0;
  uint64_t spilled_bytes = 0;
  uint64_t num_evicted = 0;
  // Copies pulled in from other nodes (the only copies made secondary), counted when sealed;
  // their data bytes.
  uint64_t num_received = 0;
  uint64_t received_bytes = 0;
  // Spilled objects read back into memory.
  uint64_t num_restored = 0;
  uint64_t restored_bytes = 0;
  uint64_t num_clients = 0;
  uint64_t largest_free_block = 0;
};

// One object of the store, as `orrery memory` lists it.
struct StoredObject {
  enum class State { kCreated, kSealed, kSpilled, kRestoring };
  ObjectId id;
  WorkerId owner;
  uint64_t size = 0;
  State state = State::kCreated;
  bool primary = false;
  // References held by clients right now.
  int readers = 0;
};

class Store {
 public:
  using CreateCallback = std::function<void(absl::StatusOr<ObjectLocation>)>;
  // One entry per id asked, in order: nullopt for an object not available in time.
  using GetCallback = std::function<void(std::vector<std::optional<ObjectLocation>>)>;

  // `base` is the region's mapping in this process (the spill thread reads and writes it).
  Store(boost::asio::io_context& io, uint8_t* base, StoreOptions options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Allocates `data_size + metadata_size` bytes. Errors: AlreadyExists (the id is taken),
  // OutOfRange (larger than the whole store), ResourceExhausted (no room after evicting and
  // spilling what could be, within `wait`), Internal (spilling to make room failed).
  // `owner` (nil: none) is the worker whose death deletes the object (see DeleteOwnedBy).
  void Create(ClientId client, const ObjectId& id, uint64_t data_size, uint64_t metadata_size, bool primary,
              int64_t wait_ms, CreateCallback done, const WorkerId& owner = WorkerId());
  // Only the creator seals or aborts an object, once.
  absl::Status Seal(ClientId client, const ObjectId& id);
  absl::Status Abort(ClientId client, const ObjectId& id);
  // Waits until every object is sealed (and restored when spilled) or `timeout_ms` passes
  // (< 0: forever); the client then holds one more reference to each object returned.
  void Get(ClientId client, std::vector<ObjectId> ids, int64_t timeout_ms, GetCallback done);
  absl::Status Release(ClientId client, const ObjectId& id);
  // Deletes now, or when the last reference is released. Unknown ids are ignored.
  void Delete(const ObjectId& id);
  // The owner died: nobody can free its objects any more, and nobody can get them (their
  // readers see OwnerDiedError), so they all go.
  void DeleteOwnedBy(const WorkerId& owner);
  // Sealed, in memory or spilled.
  bool Contains(const ObjectId& id) const;
  void ConnectClient(ClientId client);
  // Drops every reference the client held and aborts what it created but did not seal.
  void DisconnectClient(ClientId client);

  StoreCounters Counters() const;
  // At most `limit` objects, by id.
  std::vector<StoredObject> List(size_t limit) const;
  const Allocator& allocator() const { return allocator_; }

 private:
  using State = StoredObject::State;
  struct Entry {
    State state = State::kCreated;
    bool primary = false;
    ClientId creator = 0;
    WorkerId owner;
    uint64_t data_size = 0;
    uint64_t metadata_size = 0;
    // Valid unless kSpilled.
    uint64_t offset = 0;
    absl::flat_hash_map<ClientId, int> refs;
    int ref_total = 0;
    bool delete_pending = false;
    // A copy on disk (kept while the object lives, so spilling it again is free).
    std::string spill_path;
    bool spilling = false;
    // Position in lru_ while sealed, in memory and unreferenced.
    std::optional<std::list<ObjectId>::iterator> lru;
    uint64_t size() const { return data_size + metadata_size; }
  };
  struct GetWaiter {
    ClientId client;
    std::vector<ObjectId> ids;
    GetCallback done;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };
  struct PendingCreate {
    ClientId client;
    ObjectId id;
    uint64_t data_size, metadata_size;
    bool primary;
    WorkerId owner;
    CreateCallback done;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };

  absl::StatusOr<ObjectLocation> TryCreate(ClientId client, const ObjectId& id, uint64_t data_size,
                                           uint64_t metadata_size, bool primary, const WorkerId& owner);
  // Allocates, evicting unreferenced non-primary copies (LRU first) when needed.
  std::optional<uint64_t> AllocateEvicting(uint64_t size);
  // Starts spilling unreferenced primaries until `wanted` bytes are on their way out (or none are
  // left). Returns the bytes that will be freed.
  uint64_t StartSpilling(uint64_t wanted);
  void SpillIfAboveHighWater();
  void OnSpilled(const ObjectId& id, const std::string& path, absl::Status status);
  void StartRestore(const ObjectId& id, Entry& entry);
  void OnRestored(const ObjectId& id, absl::Status status);
  // Space was freed: pending creates and restores may now fit.
  void OnSpaceFreed();

  void AddRef(ClientId client, const ObjectId& id, Entry& entry);
  void DropRef(ClientId client, const ObjectId& id, Entry& entry, int count);
  void UpdateLru(const ObjectId& id, Entry& entry);
  // Frees the entry's memory and forgets it (and its spill file).
  void Erase(const ObjectId& id);
  void FreeMemory(Entry& entry);

  void WakeWaiters(const ObjectId& id);
  // Replies to the waiter if all its objects are ready (or `final`); true if it replied.
  bool TryFinishGet(uint64_t waiter_id, bool final);
  void ForgetWaiter(uint64_t waiter_id);
  void FinishPendingCreate(std::list<PendingCreate>::iterator it, absl::StatusOr<ObjectLocation> result);
  std::string FullMessage(uint64_t size) const;

  boost::asio::io_context& io_;
  uint8_t* const base_;
  const StoreOptions options_;
  Allocator allocator_;
  absl::flat_hash_map<ObjectId, Entry> objects_;
  // Sealed, in-memory, unreferenced objects, least recently used first.
  std::list<ObjectId> lru_;
  absl::flat_hash_map<ClientId, absl::flat_hash_set<ObjectId>> clients_;
  absl::flat_hash_map<WorkerId, absl::flat_hash_set<ObjectId>> owned_;
  uint64_t next_waiter_ = 1;
  absl::flat_hash_map<uint64_t, GetWaiter> waiters_;
  absl::flat_hash_map<ObjectId, std::vector<uint64_t>> waiters_by_object_;
  std::list<PendingCreate> pending_creates_;
  uint64_t spilling_bytes_ = 0;
  uint64_t num_evicted_ = 0;
  uint64_t num_received_ = 0;
  uint64_t received_bytes_ = 0;
  uint64_t num_restored_ = 0;
  uint64_t restored_bytes_ = 0;
  uint64_t spill_sequence_ = 0;
  std::chrono::steady_clock::time_point spill_backoff_until_;
  // Spill results posted back after the store is gone are dropped (they hold a weak pointer).
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  // Disk I/O for spilling and restoring; last member, so its thread stops first.
  std::shared_ptr<EventLoop> io_thread_;
};

}  // namespace orrery::object_store
