#include "src/object_store/store.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "src/common/log.h"
#include "src/common/timer_duration.h"
#include "src/object_store/spill_file.h"

namespace orrery::object_store {

namespace {

std::string Bytes(uint64_t n) { return absl::StrCat(n, " bytes"); }

}  // namespace

Store::Store(boost::asio::io_context& io, uint8_t* base, StoreOptions options)
    : io_(io), base_(base), options_(std::move(options)), allocator_(options_.capacity) {
  if (!options_.spill_dir.empty()) {
    io_thread_ = EventLoop::Create("store-io");
    io_thread_->StartThread();
  }
}

Store::~Store() {
  if (io_thread_) io_thread_->Stop();
}

void Store::ConnectClient(ClientId client) { clients_[client]; }

void Store::Create(ClientId client, const ObjectId& id, uint64_t data_size, uint64_t metadata_size, bool primary,
                   int64_t wait_ms, CreateCallback done, const WorkerId& owner) {
  absl::StatusOr<ObjectLocation> result = TryCreate(client, id, data_size, metadata_size, primary, owner);
  if (result.ok() || result.status().code() != absl::StatusCode::kResourceExhausted || wait_ms <= 0) {
    done(std::move(result));
    return;
  }
  // Full: wait (bounded) for spills in flight, releases and deletes to make room.
  StartSpilling(data_size + metadata_size);
  auto& pending = pending_creates_.emplace_back(
      PendingCreate{client, id, data_size, metadata_size, primary, owner, std::move(done),
                    std::make_unique<boost::asio::steady_timer>(io_, TimerDuration(wait_ms))});
  auto it = std::prev(pending_creates_.end());
  std::weak_ptr<int> alive = alive_;
  pending.timer->async_wait([this, alive, it](const boost::system::error_code& error) {
    if (error || alive.expired()) return;
    FinishPendingCreate(it, absl::ResourceExhaustedError(FullMessage(it->data_size + it->metadata_size)));
  });
}

absl::StatusOr<ObjectLocation> Store::TryCreate(ClientId client, const ObjectId& id, uint64_t data_size,
                                                uint64_t metadata_size, bool primary, const WorkerId& owner) {
  uint64_t size = data_size + metadata_size;
  if (size < data_size || size > allocator_.capacity()) {
    return absl::OutOfRangeError(absl::StrCat("object ", id.Hex(), " needs ", Bytes(size),
                                              ", more than the whole object store (", Bytes(allocator_.capacity()),
                                              ")"));
  }
  if (objects_.contains(id)) return absl::AlreadyExistsError(absl::StrCat("object ", id.Hex(), " already exists"));
  std::optional<uint64_t> offset = AllocateEvicting(size);
  if (!offset) return absl::ResourceExhaustedError(FullMessage(size));
  Entry& entry = objects_[id];
  entry.primary = primary;
  entry.creator = client;
  entry.data_size = data_size;
  entry.metadata_size = metadata_size;
  entry.offset = *offset;
  entry.owner = owner;
  if (!owner.IsNil()) owned_[owner].insert(id);
  AddRef(client, id, entry);
  SpillIfAboveHighWater();
  return ObjectLocation{id, *offset, data_size, metadata_size};
}

std::string Store::FullMessage(uint64_t size) const {
  return absl::StrCat("the object store is full: asked for ", Bytes(size), ", ", Bytes(allocator_.used_bytes()),
                      " of ", Bytes(allocator_.capacity()), " in use by objects that are referenced or pinned",
                      options_.spill_dir.empty() ? " (spilling is off)" : "");
}

std::optional<uint64_t> Store::AllocateEvicting(uint64_t size) {
  for (;;) {
    if (auto offset = allocator_.Allocate(size)) return offset;
    // Evict the least recently used copy that is not a primary.
    auto victim = std::find_if(lru_.begin(), lru_.end(), [&](const ObjectId& id) { return !objects_[id].primary; });
    if (victim == lru_.end()) return std::nullopt;
    ++num_evicted_;
    Erase(*victim);
  }
}

absl::Status Store::Seal(ClientId client, const ObjectId& id) {
  auto it = objects_.find(id);
  if (it == objects_.end() || it->second.state != State::kCreated || it->second.creator != client) {
    return absl::FailedPreconditionError(absl::StrCat("object ", id.Hex(), " is not an unsealed object of this client"));
  }
  it->second.state = State::kSealed;
  if (!it->second.primary) {
    ++num_received_;
    received_bytes_ += it->second.data_size;
  }
  WakeWaiters(id);
  return absl::OkStatus();
}

absl::Status Store::Abort(ClientId client, const ObjectId& id) {
  auto it = objects_.find(id);
  if (it == objects_.end() || it->second.state != State::kCreated || it->second.creator != client) {
    return absl::FailedPreconditionError(absl::StrCat("object ", id.Hex(), " is not an unsealed object of this client"));
  }
  Erase(id);
  OnSpaceFreed();
  return absl::OkStatus();
}

void Store::Get(ClientId client, std::vector<ObjectId> ids, int64_t timeout_ms, GetCallback done) {
  uint64_t waiter_id = next_waiter_++;
  GetWaiter& waiter = waiters_[waiter_id];
  waiter.client = client;
  waiter.ids = std::move(ids);
  waiter.done = std::move(done);
  if (TryFinishGet(waiter_id, /*final=*/timeout_ms == 0)) return;
  for (const ObjectId& id : waiter.ids) waiters_by_object_[id].push_back(waiter_id);
  if (timeout_ms > 0) {
    waiter.timer = std::make_unique<boost::asio::steady_timer>(io_, TimerDuration(timeout_ms));
    std::weak_ptr<int> alive = alive_;
    waiter.timer->async_wait([this, alive, waiter_id](const boost::system::error_code& error) {
      if (!error && !alive.expired()) TryFinishGet(waiter_id, /*final=*/true);
    });
  }
}

bool Store::TryFinishGet(uint64_t waiter_id, bool final) {
  auto waiter_it = waiters_.find(waiter_id);
  if (waiter_it == waiters_.end()) return true;
  GetWaiter& waiter = waiter_it->second;
  bool all_ready = true;
  for (const ObjectId& id : waiter.ids) {
    auto it = objects_.find(id);
    if (it == objects_.end() || it->second.state == State::kCreated) {
      all_ready = false;
    } else if (it->second.state != State::kSealed) {
      all_ready = false;
      if (it->second.state == State::kSpilled && !final) StartRestore(id, it->second);
    }
  }
  if (!all_ready && !final) return false;
  std::vector<std::optional<ObjectLocation>> result;
  result.reserve(waiter.ids.size());
  for (const ObjectId& id : waiter.ids) {
    auto it = objects_.find(id);
    if (it == objects_.end() || it->second.state != State::kSealed) {
      result.emplace_back();
      continue;
    }
    Entry& entry = it->second;
    AddRef(waiter.client, id, entry);
    result.push_back(ObjectLocation{id, entry.offset, entry.data_size, entry.metadata_size});
  }
  GetCallback done = std::move(waiter.done);
  ForgetWaiter(waiter_id);
  done(std::move(result));
  return true;
}

void Store::ForgetWaiter(uint64_t waiter_id) {
  auto waiter = waiters_.find(waiter_id);
  for (const ObjectId& id : waiter->second.ids) {
    auto by_object = waiters_by_object_.find(id);
    if (by_object == waiters_by_object_.end()) continue;
    std::erase(by_object->second, waiter_id);
    if (by_object->second.empty()) waiters_by_object_.erase(by_object);
  }
  if (waiter->second.timer) waiter->second.timer->cancel();
  waiters_.erase(waiter);
}

void Store::WakeWaiters(const ObjectId& id) {
  auto it = waiters_by_object_.find(id);
  if (it == waiters_by_object_.end()) return;
  std::vector<uint64_t> ids = it->second;  // TryFinishGet edits the index
  for (uint64_t waiter_id : ids) TryFinishGet(waiter_id, /*final=*/false);
}

absl::Status Store::Release(ClientId client, const ObjectId& id) {
  auto it = objects_.find(id);
  if (it == objects_.end() || !it->second.refs.contains(client)) {
    return absl::FailedPreconditionError(absl::StrCat("object ", id.Hex(), " is not held by this client"));
  }
  DropRef(client, id, it->second, 1);
  return absl::OkStatus();
}

void Store::Delete(const ObjectId& id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  Entry& entry = it->second;
  if (entry.ref_total > 0 || entry.spilling || entry.state == State::kRestoring || entry.state == State::kCreated) {
    entry.delete_pending = true;  // finished by the last release, the I/O's end, or the seal
    return;
  }
  Erase(id);
  OnSpaceFreed();
}

void Store::DeleteOwnedBy(const WorkerId& owner) {
  auto it = owned_.find(owner);
  if (it == owned_.end()) return;
  std::vector<ObjectId> ids(it->second.begin(), it->second.end());  // Delete edits owned_
  for (const ObjectId& id : ids) Delete(id);
}

bool Store::Contains(const ObjectId& id) const {
  auto it = objects_.find(id);
  return it != objects_.end() && it->second.state != State::kCreated;
}

void Store::DisconnectClient(ClientId client) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  absl::flat_hash_set<ObjectId> held = std::move(it->second);
  clients_.erase(it);
  // Its waits end unanswered: there is no one to answer.
  std::vector<uint64_t> waits;
  for (const auto& [waiter_id, waiter] : waiters_) {
    if (waiter.client == client) waits.push_back(waiter_id);
  }
  for (uint64_t waiter_id : waits) ForgetWaiter(waiter_id);
  for (auto pending = pending_creates_.begin(); pending != pending_creates_.end();) {
    auto next = std::next(pending);
    if (pending->client == client) {
      pending->timer->cancel();
      pending_creates_.erase(pending);
    }
    pending = next;
  }
  for (const ObjectId& id : held) {
    auto object = objects_.find(id);
    if (object == objects_.end()) continue;
    Entry& entry = object->second;
    if (entry.state == State::kCreated && entry.creator == client) {
      Erase(id);  // a half-written object never becomes visible
      continue;
    }
    auto ref = entry.refs.find(client);
    if (ref != entry.refs.end()) DropRef(client, id, entry, ref->second);
  }
  OnSpaceFreed();
}

void Store::AddRef(ClientId client, const ObjectId& id, Entry& entry) {
  if (++entry.refs[client] == 1) clients_[client].insert(id);
  ++entry.ref_total;
  UpdateLru(id, entry);
}

void Store::DropRef(ClientId client, const ObjectId& id, Entry& entry, int count) {
  auto ref = entry.refs.find(client);
  ref->second -= count;
  entry.ref_total -= count;
  if (ref->second <= 0) {
    entry.refs.erase(ref);
    if (auto c = clients_.find(client); c != clients_.end()) c->second.erase(id);
  }
  if (entry.ref_total == 0 && entry.delete_pending && !entry.spilling && entry.state != State::kRestoring &&
      entry.state != State::kCreated) {
    Erase(id);
    OnSpaceFreed();
    return;
  }
  UpdateLru(id, entry);
  if (entry.ref_total == 0) OnSpaceFreed();  // it may now be evicted or spilled
}

void Store::UpdateLru(const ObjectId& id, Entry& entry) {
  if (entry.lru) {
    lru_.erase(*entry.lru);
    entry.lru.reset();
  }
  if (entry.state == State::kSealed && entry.ref_total == 0 && !entry.spilling) {
    entry.lru = lru_.insert(lru_.end(), id);
  }
}

void Store::FreeMemory(Entry& entry) {
  if (entry.state != State::kSpilled) allocator_.Free(entry.offset);
}

void Store::Erase(const ObjectId& id) {
  auto it = objects_.find(id);
  Entry& entry = it->second;
  if (entry.lru) lru_.erase(*entry.lru);
  if (auto owned = owned_.find(entry.owner); owned != owned_.end()) {
    owned->second.erase(id);
    if (owned->second.empty()) owned_.erase(owned);
  }
  FreeMemory(entry);
  if (!entry.spill_path.empty()) ::unlink(entry.spill_path.c_str());
  for (const auto& [client, count] : entry.refs) {
    if (auto c = clients_.find(client); c != clients_.end()) c->second.erase(id);
  }
  objects_.erase(it);
}

void Store::SpillIfAboveHighWater() {
  // After a failed spill, wait a while before spilling on our own again: a full disk would
  // otherwise be retried on every release. A create that needs room still tries, and hears why.
  if (options_.spill_dir.empty() || std::chrono::steady_clock::now() < spill_backoff_until_) return;
  auto high_water = static_cast<uint64_t>(options_.spill_high_water * static_cast<double>(allocator_.capacity()));
  uint64_t projected = allocator_.used_bytes() - std::min(allocator_.used_bytes(), spilling_bytes_);
  if (projected > high_water) StartSpilling(projected - high_water);
}

uint64_t Store::StartSpilling(uint64_t wanted) {
  if (options_.spill_dir.empty()) return 0;
  uint64_t started = 0;
  std::vector<ObjectId> chosen;
  for (const ObjectId& id : lru_) {
    if (started >= wanted) break;
    Entry& entry = objects_[id];
    if (!entry.primary) continue;  // other copies are evicted, never spilled
    chosen.push_back(id);
    started += entry.size();
  }
  for (const ObjectId& id : chosen) {
    Entry& entry = objects_[id];
    entry.spilling = true;
    spilling_bytes_ += entry.size();
    UpdateLru(id, entry);  // out of the LRU: it must not be evicted or freed mid-write
    if (!entry.spill_path.empty()) {
      // Already on disk from an earlier spill: only the memory goes.
      boost::asio::post(io_, [this, alive = std::weak_ptr<int>(alive_), id, path = entry.spill_path] {
        if (!alive.expired()) OnSpilled(id, path, absl::OkStatus());
      });
      continue;
    }
    std::string path = absl::StrCat(options_.spill_dir, "/", id.Hex(), "-", ++spill_sequence_);
    const uint8_t* data = base_ + entry.offset;
    uint64_t size = entry.size();
    io_thread_->Post([this, alive = std::weak_ptr<int>(alive_), id, path, data, size] {
      absl::Status status = WriteSpillFile(path, data, size);
      boost::asio::post(io_, [this, alive, id, path, status] {
        if (!alive.expired()) OnSpilled(id, path, status);
      });
    });
  }
  return started;
}

void Store::OnSpilled(const ObjectId& id, const std::string& path, absl::Status status) {
  auto it = objects_.find(id);
  Entry& entry = it->second;
  entry.spilling = false;
  spilling_bytes_ -= std::min(spilling_bytes_, entry.size());
  if (!status.ok()) {
    // The object stays in memory; a create waiting for this room learns why it never came.
    spdlog::warn("spilling object {} failed: {}", id.Hex(), status.message());
    spill_backoff_until_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    UpdateLru(id, entry);
    for (auto pending = pending_creates_.begin(); pending != pending_creates_.end();) {
      auto next = std::next(pending);
      FinishPendingCreate(pending, absl::InternalError(absl::StrCat("spilling to make room failed: ", status.message())));
      pending = next;
    }
    return;
  }
  entry.spill_path = path;
  if (entry.delete_pending && entry.ref_total == 0) {
    Erase(id);
    OnSpaceFreed();
    return;
  }
  if (entry.ref_total == 0) {
    allocator_.Free(entry.offset);
    entry.state = State::kSpilled;
  } else {
    UpdateLru(id, entry);  // read meanwhile: stays in memory, its file makes the next spill free
  }
  bool spilled = entry.state == State::kSpilled;
  // (OnSpaceFreed may create objects, moving `entry`: it is not used after this.)
  OnSpaceFreed();
  // Someone may be waiting to restore it already.
  if (spilled && waiters_by_object_.contains(id)) {
    if (auto again = objects_.find(id); again != objects_.end() && again->second.state == State::kSpilled) {
      StartRestore(id, again->second);
    }
  }
}

void Store::StartRestore(const ObjectId& id, Entry& entry) {
  std::optional<uint64_t> offset = AllocateEvicting(entry.size());
  if (!offset) {
    StartSpilling(entry.size());  // retried from OnSpaceFreed
    return;
  }
  entry.offset = *offset;
  entry.state = State::kRestoring;
  uint8_t* out = base_ + *offset;
  io_thread_->Post([this, alive = std::weak_ptr<int>(alive_), id, path = entry.spill_path, out, size = entry.size()] {
    absl::Status status = ReadSpillFile(path, out, size);
    boost::asio::post(io_, [this, alive, id, status] {
      if (!alive.expired()) OnRestored(id, status);
    });
  });
}

void Store::OnRestored(const ObjectId& id, absl::Status status) {
  auto it = objects_.find(id);
  Entry& entry = it->second;
  if (!status.ok()) {
    spdlog::error("restoring object {} failed: {}", id.Hex(), status.message());
    allocator_.Free(entry.offset);
    entry.state = State::kSpilled;
    return;
  }
  entry.state = State::kSealed;
  ++num_restored_;
  restored_bytes_ += entry.size();
  if (entry.delete_pending && entry.ref_total == 0) {
    Erase(id);
    OnSpaceFreed();
    return;
  }
  UpdateLru(id, entry);
  WakeWaiters(id);
  SpillIfAboveHighWater();
}

void Store::OnSpaceFreed() {
  SpillIfAboveHighWater();  // an object just released may be the one to spill
  for (auto it = pending_creates_.begin(); it != pending_creates_.end();) {
    auto next = std::next(it);
    absl::StatusOr<ObjectLocation> result =
        TryCreate(it->client, it->id, it->data_size, it->metadata_size, it->primary, it->owner);
    if (result.ok() || result.status().code() != absl::StatusCode::kResourceExhausted) {
      FinishPendingCreate(it, std::move(result));
    }
    it = next;
  }
  // Gets waiting on spilled objects that found no room before.
  std::vector<ObjectId> to_restore;
  for (const auto& [id, waiter_ids] : waiters_by_object_) {
    auto object = objects_.find(id);
    if (object != objects_.end() && object->second.state == State::kSpilled) to_restore.push_back(id);
  }
  for (const ObjectId& id : to_restore) {
    auto object = objects_.find(id);
    if (object != objects_.end() && object->second.state == State::kSpilled) StartRestore(id, object->second);
  }
}

void Store::FinishPendingCreate(std::list<PendingCreate>::iterator it, absl::StatusOr<ObjectLocation> result) {
  CreateCallback done = std::move(it->done);
  it->timer->cancel();
  pending_creates_.erase(it);
  done(std::move(result));
}

StoreCounters Store::Counters() const {
  StoreCounters counters;
  counters.capacity = allocator_.capacity();
  counters.used_bytes = allocator_.used_bytes();
  counters.num_objects = objects_.size();
  for (const auto& [id, entry] : objects_) {
    counters.num_primary += entry.primary;
    if (entry.state == State::kSpilled) {
      ++counters.num_spilled;
      counters.spilled_bytes += entry.size();
    }
  }
  counters.num_evicted = num_evicted_;
  counters.num_received = num_received_;
  counters.received_bytes = received_bytes_;
  counters.num_restored = num_restored_;
  counters.restored_bytes = restored_bytes_;
  counters.num_clients = clients_.size();
  counters.largest_free_block = allocator_.largest_free_block();
  return counters;
}

std::vector<StoredObject> Store::List(size_t limit) const {
  std::vector<StoredObject> listed;
  listed.reserve(objects_.size());
  for (const auto& [id, entry] : objects_) {
    listed.push_back(StoredObject{id, entry.owner, entry.size(), entry.state, entry.primary, entry.ref_total});
  }
  std::sort(listed.begin(), listed.end(), [](const StoredObject& a, const StoredObject& b) { return a.id < b.id; });
  if (listed.size() > limit) listed.resize(limit);
  return listed;
}

}  // namespace orrery::object_store
