// The value envelope as the public templates see it: a format, the payload, and the ObjectRefs
// the value contains. (The runtime turns it into rpc::SerializedObject; no protobuf here.)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace orrery::internal {

enum class Format : uint8_t {
  kRaw = 1,      // contiguous bytes: strings, byte vectors, vectors of trivially copyable types
  kMsgpack = 2,  // everything else
  kError = 3,    // a stored error; Get raises it
};

// A ref inside a value: its object (binary id) and its owner (opaque to the templates).
struct RefInfo {
  std::string object_id;
  std::string owner;
};

struct SerializedValue {
  Format format = Format::kMsgpack;
  std::string payload;
  std::vector<RefInfo> contained_refs;
};

}  // namespace orrery::internal
