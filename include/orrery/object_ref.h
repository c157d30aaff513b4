/// ObjectRef<T>: a future for a value in the cluster, and a reference that keeps it alive.
///
///   orrery::ObjectRef<int> ref = orrery::Task(Add).Remote(1, 2);
///   std::shared_ptr<int> three = ref.Get();      // blocks until the task is done
///   ref.Get(500);                                // or throws GetTimeoutError after 500 ms
///
/// Copies and destructors count references: the value lives while any ObjectRef to it (in any
/// process of the job) does. ObjectRefs can be arguments and return values of tasks, and can be
/// stored inside values (a std::vector<ObjectRef<int>>, a struct with MSGPACK_DEFINE).
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "msgpack.hpp"
#include "orrery/errors.h"
#include "orrery/internal/id_text.h"
#include "orrery/internal/runtime.h"
#include "orrery/internal/serialization.h"

namespace orrery {

namespace internal {
struct AdoptTag {};
}  // namespace internal

template <typename T>
class ObjectRef {
 public:
  ObjectRef() = default;
  /// A reference from an id as ID() gives it (hex, or its bytes in a Ray program: both are
  /// taken). Throws OrreryException for a string that is not an object id.
  explicit ObjectRef(const std::string& id) : id_(internal::ObjectIdOfText(id)) { Acquire(); }
  ObjectRef(internal::AdoptTag, std::string binary_id) : id_(std::move(binary_id)) {}
  ObjectRef(const ObjectRef& other) : id_(other.id_) { Acquire(); }
  ObjectRef(ObjectRef&& other) noexcept : id_(std::exchange(other.id_, std::string())) {}
  ObjectRef& operator=(const ObjectRef& other) {
    if (this != &other) {
      Release();
      id_ = other.id_;
      Acquire();
    }
    return *this;
  }
  ObjectRef& operator=(ObjectRef&& other) noexcept {
    if (this != &other) {
      Release();
      id_ = std::exchange(other.id_, std::string());
    }
    return *this;
  }
  ~ObjectRef() { Release(); }

  /// The object's id: in hex as the CLI prints it (its 20 bytes in a program built against
  /// <ray/api.h>, as Ray's; see internal/id_text.h). "" for an empty reference.
  std::string ID() const { return internal::ObjectIdText(id_); }
  /// Marks the type (Ray's traits, is_object_ref_v, detect it by this member).
  static bool IsObjectRef() { return true; }
  bool Empty() const { return id_.empty(); }

  /// Blocks until the value exists, then returns it; throws the task's error if it failed.
  /// (For ObjectRef<void> it returns null once the task is done.)
  std::shared_ptr<T> Get() const { return GetFor(-1); }
  /// As Get(), but throws GetTimeoutError after `timeout_ms` (the ref stays usable).
  std::shared_ptr<T> Get(int timeout_ms) const { return GetFor(timeout_ms); }

  friend bool operator==(const ObjectRef& a, const ObjectRef& b) { return a.id_ == b.id_; }
  friend bool operator!=(const ObjectRef& a, const ObjectRef& b) { return a.id_ != b.id_; }

  /// The binary id the runtime uses.
  const std::string& binary_id() const { return id_; }

  // msgpack: a ref inside a value travels as its id and its owner; whoever unpacks it borrows it.
  template <typename Packer>
  void msgpack_pack(Packer& packer) const {
    std::string owner = internal::RequireRuntime().OwnerOf(id_);
    if (internal::CurrentRefCollector().refs != nullptr) {
      internal::CurrentRefCollector().refs->push_back(internal::RefInfo{id_, owner});
    }
    packer.pack_array(2);
    packer.pack_bin(static_cast<uint32_t>(id_.size()));
    packer.pack_bin_body(id_.data(), static_cast<uint32_t>(id_.size()));
    packer.pack_bin(static_cast<uint32_t>(owner.size()));
    packer.pack_bin_body(owner.data(), static_cast<uint32_t>(owner.size()));
  }
  void msgpack_unpack(const msgpack::object& object) {
    if (object.type != msgpack::type::ARRAY || object.via.array.size != 2 ||
        object.via.array.ptr[0].type != msgpack::type::BIN || object.via.array.ptr[1].type != msgpack::type::BIN) {
      throw msgpack::type_error();
    }
    const msgpack::object_bin& id = object.via.array.ptr[0].via.bin;
    const msgpack::object_bin& owner = object.via.array.ptr[1].via.bin;
    Release();
    // The id becomes this ref's only once Borrow accepted it: when Borrow throws (a malformed
    // id or owner), the ref is left empty and its destructor releases nothing it never took.
    std::string borrowed(id.ptr, id.size);
    internal::RequireRuntime().Borrow(internal::RefInfo{borrowed, std::string(owner.ptr, owner.size)});
    id_ = std::move(borrowed);
    Acquire();
  }

 private:
  std::shared_ptr<T> GetFor(int timeout_ms) const {
    auto values = internal::RequireRuntime().Get({id_}, timeout_ms);
    if constexpr (std::is_void_v<T>) {
      return nullptr;
    } else {
      return std::make_shared<T>(internal::Deserialize<T>(*values[0]));
    }
  }
  void Acquire() {
    if (id_.empty()) return;
    if (internal::Runtime* runtime = internal::CurrentRuntime()) runtime->AddLocalRef(id_);
  }
  void Release() {
    if (id_.empty()) return;
    // After Shutdown() there is nothing to tell.
    if (internal::Runtime* runtime = internal::CurrentRuntime()) runtime->RemoveLocalRef(id_);
    id_.clear();
  }

  std::string id_;
};

}  // namespace orrery
