// Strong, fixed-size binary IDs for every entity of a cluster; hex when printed.
// Interfaces take these types, never raw strings, so a NodeId cannot be passed as a WorkerId.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <ostream>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace orrery {

namespace internal {
std::string IdHex(const uint8_t* data, size_t size);
absl::Status IdSizeError(absl::string_view type, size_t want, size_t got);
std::string IdRandom(size_t size);
}  // namespace internal

// An ID of `N` bytes. All-zero is the nil value: "none".
template <typename Tag, size_t N>
class BaseId {
 public:
  static constexpr size_t kSize = N;

  BaseId() { bytes_.fill(0); }

  static BaseId Nil() { return BaseId(); }

  static BaseId FromRandom() {
    BaseId id;
    std::string random = internal::IdRandom(N);
    std::memcpy(id.bytes_.data(), random.data(), N);
    return id;
  }

  // Fails on the wrong size: peers send these, so a bad one is an error, not a crash.
  static absl::StatusOr<BaseId> FromBinary(absl::string_view binary) {
    if (binary.size() != N) return internal::IdSizeError(Tag::kName, N, binary.size());
    BaseId id;
    std::memcpy(id.bytes_.data(), binary.data(), N);
    return id;
  }

  // Empty input is Nil (proto3 leaves unset bytes empty); otherwise as FromBinary.
  static absl::StatusOr<BaseId> FromOptionalBinary(absl::string_view binary) {
    if (binary.empty()) return BaseId();
    return FromBinary(binary);
  }

  static absl::StatusOr<BaseId> FromHex(absl::string_view hex);

  std::string Binary() const { return std::string(reinterpret_cast<const char*>(bytes_.data()), N); }
  std::string Hex() const { return internal::IdHex(bytes_.data(), N); }
  // The first 8 hex digits, for log lines.
  std::string ShortHex() const { return Hex().substr(0, 8); }
  const uint8_t* data() const { return bytes_.data(); }

  bool IsNil() const {
    for (uint8_t b : bytes_)
      if (b != 0) return false;
    return true;
  }

  friend bool operator==(const BaseId& a, const BaseId& b) { return a.bytes_ == b.bytes_; }
  friend bool operator!=(const BaseId& a, const BaseId& b) { return !(a == b); }
  friend bool operator<(const BaseId& a, const BaseId& b) { return a.bytes_ < b.bytes_; }

  template <typename H>
  friend H AbslHashValue(H h, const BaseId& id) {
    return H::combine_contiguous(std::move(h), id.bytes_.data(), N);
  }

  friend std::ostream& operator<<(std::ostream& os, const BaseId& id) { return os << id.Hex(); }

 private:
  std::array<uint8_t, N> bytes_;
};

struct NodeIdTag { static constexpr const char* kName = "NodeId"; };
struct WorkerIdTag { static constexpr const char* kName = "WorkerId"; };
struct JobIdTag { static constexpr const char* kName = "JobId"; };
struct LeaseIdTag { static constexpr const char* kName = "LeaseId"; };
struct ClusterIdTag { static constexpr const char* kName = "ClusterId"; };
struct TaskIdTag { static constexpr const char* kName = "TaskId"; };
struct ObjectIdTag { static constexpr const char* kName = "ObjectId"; };
struct ActorIdTag { static constexpr const char* kName = "ActorId"; };

using NodeId = BaseId<NodeIdTag, 16>;
using WorkerId = BaseId<WorkerIdTag, 16>;
using LeaseId = BaseId<LeaseIdTag, 16>;
using ClusterId = BaseId<ClusterIdTag, 16>;
using ActorId = BaseId<ActorIdTag, 16>;
// A task, or a Put (which is named like a task that returns the value).
using TaskId = BaseId<TaskIdTag, 16>;
// An object: the id of the task that created it and the index of the return (0 for a Put).
using ObjectId = BaseId<ObjectIdTag, 20>;
ObjectId ObjectIdOf(const TaskId& task, uint32_t index);

// Jobs are numbered by the GCS from 1; the 4 bytes are the number, big-endian.
using JobId = BaseId<JobIdTag, 4>;
JobId JobIdFromInt(uint32_t value);
uint32_t JobIdToInt(const JobId& id);

template <typename Tag, size_t N>
absl::StatusOr<BaseId<Tag, N>> BaseId<Tag, N>::FromHex(absl::string_view hex) {
  if (hex.size() != 2 * N) return internal::IdSizeError(Tag::kName, 2 * N, hex.size());
  std::string binary;
  binary.reserve(N);
  for (size_t i = 0; i < hex.size(); i += 2) {
    auto digit = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(std::string(Tag::kName) + " is not hex: " + std::string(hex));
    }
    binary.push_back(static_cast<char>(hi << 4 | lo));
  }
  return FromBinary(binary);
}

}  // namespace orrery

namespace std {
template <typename Tag, size_t N>
struct hash<orrery::BaseId<Tag, N>> {
  size_t operator()(const orrery::BaseId<Tag, N>& id) const {
    size_t h = 0;
    std::memcpy(&h, id.data(), N < sizeof(h) ? N : sizeof(h));
    return h;
  }
};
}  // namespace std
