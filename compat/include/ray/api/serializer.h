/// Ray's ray::internal::Serializer: values to msgpack bytes and back, the encoding Orrery's
/// tasks and objects use for their values too (msgpack-cxx, MSGPACK_DEFINE for a struct).
#pragma once

#include <cstddef>
#include <utility>

#include <msgpack.hpp>

#include "ray/api/msgpack_adaptor.h"

namespace ray {
namespace internal {

class Serializer {
 public:
  template <typename T>
  static msgpack::sbuffer Serialize(const T& value) {
    msgpack::sbuffer buffer;
    msgpack::pack(buffer, value);
    return buffer;
  }

  /// The value encoded at the start of data[0, size). Throws msgpack's exceptions (a
  /// std::exception) for bytes that are not one, or not a T.
  template <typename T>
  static T Deserialize(const char* data, size_t size) {
    msgpack::object_handle handle = msgpack::unpack(data, size);
    return handle.get().as<T>();
  }

  /// The value encoded at `offset`.
  template <typename T>
  static T Deserialize(const char* data, size_t size, size_t offset) {
    return Deserialize<T>(data + offset, size - offset);
  }

  /// The value encoded at *offset, which is moved past it (to read several in a row).
  template <typename T>
  static T Deserialize(const char* data, size_t size, size_t* offset) {
    msgpack::object_handle handle = msgpack::unpack(data, size, *offset);
    return handle.get().as<T>();
  }

  /// {false, T{}} for an encoded nil; {true, value} otherwise.
  template <typename T>
  static std::pair<bool, T> DeserializeWhenNil(const char* data, size_t size) {
    msgpack::object_handle handle = msgpack::unpack(data, size);
    T value{};
    if (handle.get().is_nil()) return {false, value};
    handle.get().convert(value);
    return {true, value};
  }
};

}  // namespace internal
}  // namespace ray
