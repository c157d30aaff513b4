#include "src/core_worker/shared_memory_objects.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "src/common/memory.h"
#include "src/common/status.h"
#include "src/core_worker/object_conversion.h"

namespace orrery::core {

namespace {

// The object's metadata: the envelope without its payload (format and contained refs).
std::string EncodeMetadata(const internal::SerializedValue& value) {
  internal::SerializedValue header;
  header.format = value.format;
  header.contained_refs = value.contained_refs;
  rpc::SerializedObject object;
  ToWire(header, &object);
  return object.SerializeAsString();
}

}  // namespace

absl::StatusOr<Value> SharedMemoryObjects::Write(const ObjectId& id, const internal::SerializedValue& value,
                                                 const WorkerId& owner) {
  std::string metadata = EncodeMetadata(value);
  auto object = CreateOrFindEarlier(id, value.size(), metadata.size(), owner);
  if (!object.ok()) return Annotate(object.status(), absl::StrCat("storing a value of ", value.size(), " bytes"));
  if (*object != nullptr) {
    ParallelCopy((**object).data, value.data(), value.size());
    std::memcpy((**object).metadata, metadata.data(), metadata.size());
    if (absl::Status sealed = client_->Seal(**object, /*release=*/true); !sealed.ok()) return sealed;
  }
  auto marker = std::make_shared<internal::SerializedValue>();
  marker->format = internal::Format::kInStore;
  marker->payload = node_.Binary();
  marker->contained_refs = value.contained_refs;
  return marker;
}

absl::StatusOr<std::shared_ptr<object_store::MutableObject>> SharedMemoryObjects::CreateOrFindEarlier(
    const ObjectId& id, uint64_t data_size, uint64_t metadata_size, const WorkerId& owner) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kEarlierWriterWaitMs);
  for (;;) {
    auto object = client_->Create(id, data_size, metadata_size, /*primary=*/true, full_wait_ms_, owner);
    if (object.ok() || object.status().code() != absl::StatusCode::kAlreadyExists) return object;
    // Answers as soon as the earlier copy is sealed; a copy dropped half-written is not seen
    // (the store wakes no one for it), so the wait is short and the create is tried again.
    auto earlier = client_->Get({id}, kEarlierWriterPollMs);
    if (!earlier.ok()) return earlier.status();
    if ((*earlier)[0] != nullptr) return nullptr;
    if (std::chrono::steady_clock::now() >= deadline) {
      return absl::AlreadyExistsError(absl::StrCat("object ", id.Hex(), " is still being written by another process ",
                                                   kEarlierWriterWaitMs, " ms later"));
    }
  }
}

Value SharedMemoryObjects::Read(const ObjectId& id, const internal::SerializedValue& marker, int64_t timeout_ms) {
  rpc::ErrorInfo error;
  error.set_type(rpc::ErrorInfo::OBJECT_LOST);
  if (Value cached = Cached(id)) return cached;
  if (marker.payload != node_.Binary()) {
    auto holder = NodeId::FromBinary(marker.payload);
    if (!holder.ok()) {
      error.set_message(absl::StrCat("object ", id.Hex(), " has a malformed location: ", holder.status().message()));
      return ErrorValue(error);
    }
    absl::StatusOr<bool> here = client_->Contains(id);
    if (here.ok() && !*here) {
      if (absl::Status pulled = pull_(id, *holder, timeout_ms); !pulled.ok()) {
        if (pulled.code() == absl::StatusCode::kResourceExhausted || pulled.code() == absl::StatusCode::kOutOfRange) {
          return ErrorValue(ToErrorInfo(pulled));
        }
        error.set_message(std::string(pulled.message()));
        return ErrorValue(error);
      }
    }
  }
  auto buffers = client_->Get({id}, timeout_ms);
  if (!buffers.ok() || (*buffers)[0] == nullptr) {
    error.set_message(absl::StrCat("object ", id.Hex(), " is not in this node's object store",
                                   buffers.ok() ? "" : absl::StrCat(": ", buffers.status().message())));
    return ErrorValue(error);
  }
  std::shared_ptr<const object_store::ObjectBuffer> buffer = (*buffers)[0];
  rpc::SerializedObject header;
  if (!header.ParseFromArray(buffer->metadata, static_cast<int>(buffer->metadata_size))) {
    error.set_message(absl::StrCat("object ", id.Hex(), " has unreadable metadata in the object store"));
    return ErrorValue(error);
  }
  Value parsed = FromWire(std::move(header));
  auto value = std::make_shared<internal::SerializedValue>(*parsed);
  value->view = reinterpret_cast<const char*>(buffer->data);
  value->view_size = buffer->data_size;
  value->keep_alive = std::move(buffer);
  Cache(id, value);
  return value;
}

Value SharedMemoryObjects::Cached(const ObjectId& id) {
  absl::MutexLock lock(&cache_mu_);
  auto it = cache_.find(id);
  if (it == cache_.end()) return nullptr;
  cache_order_.splice(cache_order_.end(), cache_order_, it->second.second);
  return it->second.first;
}

void SharedMemoryObjects::Cache(const ObjectId& id, const Value& value) {
  if (value->size() > kCachedObjectBytes) return;
  const size_t budget = client_->capacity() / 16;
  std::vector<Value> evicted;  // destroyed after the lock is released: a release talks to the store
  absl::MutexLock lock(&cache_mu_);
  if (cache_.contains(id)) return;
  cache_[id] = {value, cache_order_.insert(cache_order_.end(), id)};
  cache_bytes_ += value->size();
  while (cache_bytes_ > budget && !cache_order_.empty()) {
    auto victim = cache_.find(cache_order_.front());
    cache_bytes_ -= victim->second.first->size();
    evicted.push_back(std::move(victim->second.first));
    cache_.erase(victim);
    cache_order_.pop_front();
  }
}

void SharedMemoryObjects::Forget(const ObjectId& id) {
  Value dropped;  // destroyed after the lock is released: a release talks to the store
  absl::MutexLock lock(&cache_mu_);
  auto it = cache_.find(id);
  if (it == cache_.end()) return;
  dropped = std::move(it->second.first);
  cache_bytes_ -= dropped->size();
  cache_order_.erase(it->second.second);
  cache_.erase(it);
}

void SharedMemoryObjects::Delete(const ObjectId& id) {
  Forget(id);
  (void)client_->Delete({id});
}

rpc::ErrorInfo SharedMemoryObjects::ToErrorInfo(const absl::Status& status) {
  rpc::ErrorInfo error;
  error.set_type(status.code() == absl::StatusCode::kOutOfRange ? rpc::ErrorInfo::OBJECT_TOO_LARGE
                                                                : rpc::ErrorInfo::OBJECT_STORE_FULL);
  error.set_message(std::string(status.message()));
  return error;
}

}  // namespace orrery::core
