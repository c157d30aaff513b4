// Values on the wire. Strings, byte vectors and vectors of trivially copyable types take the
// raw path (one memcpy each way, no per-element encoding, no 4 GiB msgpack limit); everything
// else is msgpack (MSGPACK_DEFINE for user structs; STL containers, tuples, std::array).
// Unpacking is bounded by the payload's size, so a hostile "4 billion element array" is refused
// instead of allocated.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "msgpack.hpp"
#include "orrery/errors.h"
#include "orrery/export.h"
#include "orrery/internal/serialized_value.h"

namespace orrery::internal {

// ---- the raw path ----

template <typename T>
struct IsRaw : std::false_type {};
template <>
struct IsRaw<std::string> : std::true_type {};
template <typename U, typename A>
struct IsRaw<std::vector<U, A>>
    : std::bool_constant<std::is_trivially_copyable_v<U> && !std::is_same_v<U, bool> && !std::is_pointer_v<U>> {};
template <typename T>
inline constexpr bool kIsRaw = IsRaw<std::decay_t<T>>::value;

// ---- refs inside values ----

// While a value is being packed, the ObjectRefs in it are collected here (per thread).
struct RefCollector {
  std::vector<RefInfo>* refs = nullptr;
};
ORRERY_EXPORT RefCollector& CurrentRefCollector();

class CollectRefs {
 public:
  explicit CollectRefs(std::vector<RefInfo>* refs) : previous_(CurrentRefCollector().refs) {
    CurrentRefCollector().refs = refs;
  }
  ~CollectRefs() { CurrentRefCollector().refs = previous_; }
  CollectRefs(const CollectRefs&) = delete;
  CollectRefs& operator=(const CollectRefs&) = delete;

 private:
  std::vector<RefInfo>* previous_;
};

// ---- bounded unpacking ----

// msgpack limits for a payload of `size` bytes: an element takes at least one byte, so no
// honest payload claims more elements (or longer strings) than it has bytes.
ORRERY_EXPORT msgpack::unpack_limit LimitsFor(size_t size);

[[noreturn]] ORRERY_EXPORT void ThrowDeserializeError(const char* type_name, const std::string& why);

// A copy of this many bytes or more first has its destination's pages made present, in
// parallel: on fresh memory, faulting pages in one by one is most of a large copy's time.
constexpr size_t kLargeCopyBytes = 64 << 20;
ORRERY_EXPORT void PrepareToWrite(void* data, size_t size);

// ---- Serialize / Deserialize ----

template <typename T>
SerializedValue Serialize(const T& value) {
  SerializedValue out;
  if constexpr (kIsRaw<T>) {
    out.format = Format::kRaw;
    if constexpr (std::is_same_v<std::decay_t<T>, std::string>) {
      out.payload = value;
    } else {
      out.payload.assign(reinterpret_cast<const char*>(value.data()), value.size() * sizeof(value[0]));
    }
  } else {
    out.format = Format::kMsgpack;
    msgpack::sbuffer buffer;
    CollectRefs collect(&out.contained_refs);
    msgpack::pack(buffer, value);
    out.payload.assign(buffer.data(), buffer.size());
  }
  return out;
}

// For Put: a raw value is lent, not copied: the runtime copies its bytes once, into the object
// store or inline, before Put returns. Other values are serialized as usual.
template <typename T>
SerializedValue Lend(const T& value) {
  if constexpr (kIsRaw<T>) {
    SerializedValue out;
    out.format = Format::kRaw;
    out.view = reinterpret_cast<const char*>(value.data());
    out.view_size = value.size() * sizeof(value[0]);
    return out;
  } else {
    return Serialize(value);
  }
}

// What a function returning void returns: msgpack nil.
inline SerializedValue SerializeVoid() {
  SerializedValue out;
  out.format = Format::kMsgpack;
  out.payload.assign(1, static_cast<char>(0xc0));
  return out;
}

template <typename T>
T Deserialize(const SerializedValue& value) {
  if constexpr (kIsRaw<T>) {
    if (value.format != Format::kRaw) ThrowDeserializeError(typeid(T).name(), "the value was not stored raw");
    if constexpr (std::is_same_v<std::decay_t<T>, std::string>) {
      std::string result;
      if (value.size() >= kLargeCopyBytes) {
        result.reserve(value.size());
        PrepareToWrite(result.data(), value.size());
      }
      result.append(value.data(), value.size());
      return result;
    } else {
      using Element = typename T::value_type;
      if (value.size() % sizeof(Element) != 0) {
        ThrowDeserializeError(typeid(T).name(), "the byte count is not a whole number of elements");
      }
      const size_t count = value.size() / sizeof(Element);
      if (reinterpret_cast<uintptr_t>(value.data()) % alignof(Element) == 0) {
        // One copy, straight from the bytes (no zeroing first).
        const auto* first = reinterpret_cast<const Element*>(value.data());
        T result;
        if (value.size() >= kLargeCopyBytes) {
          result.reserve(count);
          PrepareToWrite(result.data(), value.size());
        }
        result.insert(result.end(), first, first + count);
        return result;
      }
      T result(count);
      if (count != 0) std::memcpy(result.data(), value.data(), value.size());
      return result;
    }
  } else {
    if (value.format != Format::kMsgpack) ThrowDeserializeError(typeid(T).name(), "the value is not msgpack");
    try {
      msgpack::object_handle handle =
          msgpack::unpack(value.data(), value.size(), nullptr, nullptr, LimitsFor(value.size()));
      return handle.get().as<T>();
    } catch (const OrreryException&) {
      throw;
    } catch (const std::exception& e) {
      ThrowDeserializeError(typeid(T).name(), e.what());
    }
  }
}

// ---- function signatures ----

// A stable hash of a function's parameter and return types: driver and worker must agree.
ORRERY_EXPORT uint64_t HashSignature(const char* mangled_type_name);

}  // namespace orrery::internal
