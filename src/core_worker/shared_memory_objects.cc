#include "src/core_worker/shared_memory_objects.h"

#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
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

void ParallelCopy(void* dst, const void* src, size_t size) {
  constexpr size_t kChunk = 64 << 20;
  const size_t threads = std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()), size / kChunk);
  if (threads <= 1) {
    std::memcpy(dst, src, size);
    return;
  }
  const size_t per = (size / threads + 4095) / 4096 * 4096;  // page-aligned pieces
  std::vector<std::thread> helpers;
  for (size_t i = 1; i < threads && i * per < size; ++i) {
    helpers.emplace_back([=] {
      size_t begin = i * per;
      std::memcpy(static_cast<char*>(dst) + begin, static_cast<const char*>(src) + begin, std::min(per, size - begin));
    });
  }
  std::memcpy(dst, src, std::min(per, size));
  for (auto& helper : helpers) helper.join();
}

absl::StatusOr<Value> SharedMemoryObjects::Write(const ObjectId& id, const internal::SerializedValue& value) {
  std::string metadata = EncodeMetadata(value);
  auto object = client_->Create(id, value.size(), metadata.size(), /*primary=*/true, full_wait_ms_);
  if (!object.ok()) return Annotate(object.status(), absl::StrCat("storing a value of ", value.size(), " bytes"));
  ParallelCopy((*object)->data, value.data(), value.size());
  std::memcpy((*object)->metadata, metadata.data(), metadata.size());
  if (absl::Status sealed = client_->Seal(**object); !sealed.ok()) return sealed;
  auto marker = std::make_shared<internal::SerializedValue>();
  marker->format = internal::Format::kInStore;
  marker->payload = node_.Binary();
  marker->contained_refs = value.contained_refs;
  return marker;
}

Value SharedMemoryObjects::Read(const ObjectId& id, const internal::SerializedValue& marker, int64_t timeout_ms) {
  rpc::ErrorInfo error;
  error.set_type(rpc::ErrorInfo::OBJECT_LOST);
  if (marker.payload != node_.Binary()) {
    auto node = NodeId::FromBinary(marker.payload);
    error.set_message(absl::StrCat("object ", id.Hex(), " lies in the object store of node ",
                                   node.ok() ? node->Hex() : "?",
                                   "; moving objects between nodes is not supported yet"));
    return ErrorValue(error);
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
  return value;
}

void SharedMemoryObjects::Delete(const ObjectId& id) { (void)client_->Delete({id}); }

rpc::ErrorInfo SharedMemoryObjects::ToErrorInfo(const absl::Status& status) {
  rpc::ErrorInfo error;
  error.set_type(status.code() == absl::StatusCode::kOutOfRange ? rpc::ErrorInfo::OBJECT_TOO_LARGE
                                                                : rpc::ErrorInfo::OBJECT_STORE_FULL);
  error.set_message(std::string(status.message()));
  return error;
}

}  // namespace orrery::core
