/// msgpack for std::any, as Ray has it: a std::any holding one of the types below packs as that
/// value, and a msgpack value unpacks into a std::any holding the type its encoding names:
///
///   encoded            unpacks as
///   nil                msgpack::type::nil_t
///   true/false         bool
///   integer >= 0       uint64_t
///   integer < 0        int64_t
///   float32/float64    double
///   str                std::string
///   bin                std::vector<char>
///
/// A std::any holding anything else throws msgpack::type_error when packed, as does an array or
/// a map unpacked into one. (Besides Ray's list, a std::any holding an int, int64_t, unsigned,
/// float or std::vector<std::byte> packs too, as the integer, double or bin it is.)
#pragma once

#include <any>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <msgpack.hpp>

namespace ray {
namespace internal {

// Packs the std::any's value if it holds a T; false if it holds something else.
template <typename T, typename Stream>
bool PackAnyAs(msgpack::packer<Stream>& packer, const std::any& value) {
  const T* held = std::any_cast<T>(&value);
  if (held == nullptr) return false;
  packer.pack(*held);
  return true;
}

template <typename Stream>
bool PackAnyBytes(msgpack::packer<Stream>& packer, const std::any& value) {
  const auto* bytes = std::any_cast<std::vector<std::byte>>(&value);
  if (bytes == nullptr) return false;
  packer.pack_bin(static_cast<uint32_t>(bytes->size()));
  packer.pack_bin_body(reinterpret_cast<const char*>(bytes->data()), static_cast<uint32_t>(bytes->size()));
  return true;
}

}  // namespace internal
}  // namespace ray

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
namespace adaptor {

template <>
struct pack<std::any> {
  template <typename Stream>
  msgpack::packer<Stream>& operator()(msgpack::packer<Stream>& packer, const std::any& value) const {
    using ray::internal::PackAnyAs;
    const bool packed = PackAnyAs<msgpack::type::nil_t>(packer, value) || PackAnyAs<bool>(packer, value) ||
                        PackAnyAs<uint64_t>(packer, value) || PackAnyAs<int64_t>(packer, value) ||
                        PackAnyAs<int>(packer, value) || PackAnyAs<unsigned>(packer, value) ||
                        PackAnyAs<double>(packer, value) || PackAnyAs<float>(packer, value) ||
                        PackAnyAs<std::string>(packer, value) || PackAnyAs<std::vector<char>>(packer, value) ||
                        ray::internal::PackAnyBytes(packer, value);
    if (!packed) throw msgpack::type_error();
    return packer;
  }
};

template <>
struct convert<std::any> {
  const msgpack::object& operator()(const msgpack::object& object, std::any& value) const {
    switch (object.type) {
      case msgpack::type::NIL:
        value = msgpack::type::nil_t();
        break;
      case msgpack::type::BOOLEAN:
        value = object.as<bool>();
        break;
      case msgpack::type::POSITIVE_INTEGER:
        value = object.as<uint64_t>();
        break;
      case msgpack::type::NEGATIVE_INTEGER:
        value = object.as<int64_t>();
        break;
      case msgpack::type::FLOAT32:
      case msgpack::type::FLOAT64:
        value = object.as<double>();
        break;
      case msgpack::type::STR:
        value = object.as<std::string>();
        break;
      case msgpack::type::BIN:
        value = object.as<std::vector<char>>();
        break;
      default:
        throw msgpack::type_error();
    }
    return object;
  }
};

}  // namespace adaptor
}  // MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS)
}  // namespace msgpack
