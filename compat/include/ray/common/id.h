/// Ray's id classes, which programs use to read what ObjectRef::ID(), ActorHandle::ID() and
/// PlacementGroup::GetID() return (ids' bytes, as in Ray): ray::ObjectID::FromBinary(ref.ID()).
/// Ray declares them in this internal header; ray_compat has only these three. Orrery's ids are
/// shorter than Ray's (an object id is 20 bytes, Ray's 28): Size() says how long.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "ray/api/ray_exception.h"

namespace ray {
namespace internal {

/// An id of N bytes; Derived is the id class (FromBinary returns one).
template <typename Derived, size_t N>
class BinaryId {
 public:
  static constexpr size_t Size() { return N; }
  /// "" (what an empty ObjectRef's ID() is) gives Nil(), as Ray's; a string of another length
  /// than N throws RayException.
  static Derived FromBinary(const std::string& binary) {
    if (binary.empty()) return Derived();
    if (binary.size() != N) {
      throw RayException(std::string(Derived::kName) + "::FromBinary: expected " + std::to_string(N) +
                         " bytes, got " + std::to_string(binary.size()));
    }
    Derived id;
    id.binary_ = binary;
    return id;
  }
  /// Throws RayException for a string that is not 2N hex digits.
  static Derived FromHex(const std::string& hex) {
    std::string binary;
    for (size_t i = 0; hex.size() == 2 * N && i < N; ++i) {
      int high = Digit(hex[2 * i]), low = Digit(hex[2 * i + 1]);
      if (high < 0 || low < 0) break;
      binary.push_back(static_cast<char>(high * 16 + low));
    }
    if (binary.size() != N) {
      throw RayException(std::string(Derived::kName) + "::FromHex: not " + std::to_string(2 * N) + " hex digits: '" +
                         hex + "'");
    }
    return FromBinary(binary);
  }
  static Derived Nil() { return Derived(); }

  const std::string& Binary() const { return binary_; }
  std::string Hex() const {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string hex;
    for (char byte : binary_) {
      hex.push_back(kDigits[static_cast<uint8_t>(byte) >> 4]);
      hex.push_back(kDigits[static_cast<uint8_t>(byte) & 15]);
    }
    return hex;
  }
  bool IsNil() const { return binary_ == std::string(N, '\xff'); }
  size_t Hash() const { return std::hash<std::string>()(binary_); }
  bool operator==(const BinaryId& other) const { return binary_ == other.binary_; }
  bool operator!=(const BinaryId& other) const { return binary_ != other.binary_; }

 protected:
  BinaryId() : binary_(N, '\xff') {}

 private:
  static int Digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  std::string binary_;
};

}  // namespace internal

/// An object's id: ObjectID::FromBinary(ref.ID()). Nil (all 0xff bytes) when default-made.
class ObjectID : public internal::BinaryId<ObjectID, 20> {
 public:
  static constexpr const char* kName = "ObjectID";
  ObjectID() = default;
};

class ActorID : public internal::BinaryId<ActorID, 16> {
 public:
  static constexpr const char* kName = "ActorID";
  ActorID() = default;
};

class PlacementGroupID : public internal::BinaryId<PlacementGroupID, 16> {
 public:
  static constexpr const char* kName = "PlacementGroupID";
  PlacementGroupID() = default;
};

}  // namespace ray

namespace std {
template <>
struct hash<ray::ObjectID> {
  size_t operator()(const ray::ObjectID& id) const { return id.Hash(); }
};
template <>
struct hash<ray::ActorID> {
  size_t operator()(const ray::ActorID& id) const { return id.Hash(); }
};
template <>
struct hash<ray::PlacementGroupID> {
  size_t operator()(const ray::PlacementGroupID& id) const { return id.Hash(); }
};
}  // namespace std
