/// ObjectView: read a stored vector or string in place, without copying it.
///
///   auto ref = orrery::Put(std::vector<double>(100'000'000));   // 800 MB, in shared memory
///   orrery::ObjectView<double> view = orrery::GetView(ref);      // no copy: a read-only span
///   double first = view[0];                                      // view.size() == 100'000'000
///
/// A value large enough to live in the node's shared-memory object store is viewed straight
/// there; a small one is viewed in this process's memory. The view keeps the object alive
/// (mapped, and never spilled) while it lives, even after every ObjectRef to it is gone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "orrery/errors.h"
#include "orrery/internal/runtime.h"
#include "orrery/object_ref.h"

namespace orrery {

/// A read-only span of `T` over a stored value (a `std::vector<T>` of a trivially copyable `T`,
/// or a `std::string` as `ObjectView<char>`).
template <typename T>
class ObjectView {
  static_assert(std::is_trivially_copyable_v<T> && !std::is_same_v<T, bool>,
                "ObjectView is for vectors of trivially copyable types, strings and bytes");

 public:
  ObjectView() = default;

  const T* data() const { return data_; }
  size_t size() const { return size_; }
  size_t size_bytes() const { return size_ * sizeof(T); }
  bool empty() const { return size_ == 0; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  const T& operator[](size_t i) const { return data_[i]; }

  /// Wraps a stored value (internal: use orrery::GetView).
  static ObjectView FromValue(std::shared_ptr<const internal::SerializedValue> value) {
    if (value->format != internal::Format::kRaw) {
      throw OrreryException("ObjectView: the object is not a vector of plain values or a string");
    }
    if (value->size() % sizeof(T) != 0) {
      throw OrreryException("ObjectView: the object's " + std::to_string(value->size()) +
                            " bytes are not a whole number of elements of " + std::to_string(sizeof(T)) + " bytes");
    }
    ObjectView view;
    view.size_ = value->size() / sizeof(T);
    if (reinterpret_cast<uintptr_t>(value->data()) % alignof(T) == 0) {
      view.data_ = reinterpret_cast<const T*>(value->data());
      view.holder_ = std::move(value);
    } else {
      // Only a small inline value can be misaligned: copy it once.
      auto copy = std::make_shared<std::vector<T>>(view.size_);
      if (view.size_ != 0) std::memcpy(copy->data(), value->data(), value->size());
      view.data_ = copy->data();
      view.holder_ = std::move(copy);
    }
    return view;
  }

 private:
  const T* data_ = nullptr;
  size_t size_ = 0;
  std::shared_ptr<const void> holder_;
};

namespace internal {
template <typename V>
struct ViewOf;
template <typename U, typename A>
struct ViewOf<std::vector<U, A>> {
  using type = ObjectView<U>;
};
template <>
struct ViewOf<std::string> {
  using type = ObjectView<char>;
};
}  // namespace internal

/// A view of the value behind `ref` (waiting for it like Get; timeout_ms < 0: forever).
template <typename V>
typename internal::ViewOf<V>::type GetView(const ObjectRef<V>& ref, int timeout_ms = -1) {
  auto values = internal::RequireRuntime().Get({ref.binary_id()}, timeout_ms);
  return internal::ViewOf<V>::type::FromValue(std::move(values[0]));
}

}  // namespace orrery
