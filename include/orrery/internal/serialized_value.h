// The value envelope as the public templates see it: a format, the payload, and the ObjectRefs
// the value contains. (The runtime turns it into rpc::SerializedObject; no protobuf here.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace orrery::internal {

enum class Format : uint8_t {
  kRaw = 1,      // contiguous bytes: strings, byte vectors, vectors of trivially copyable types
  kMsgpack = 2,  // everything else
  kError = 3,    // a stored error; Get raises it
  // Inside the runtime only, never given to the templates: the value lies in this node's
  // shared-memory object store, and Get reads it from there.
  kInStore = 4,
};

// A ref inside a value: its object (binary id) and its owner (opaque to the templates).
struct RefInfo {
  std::string object_id;
  std::string owner;
};

struct SerializedValue {
  Format format = Format::kMsgpack;
  // The payload is either owned here, or (for a value read from the shared-memory object
  // store) a read-only view that `keep_alive` keeps mapped. Read it through data() and size().
  std::string payload;
  const char* view = nullptr;
  size_t view_size = 0;
  std::shared_ptr<const void> keep_alive;
  std::vector<RefInfo> contained_refs;

  const char* data() const { return view != nullptr ? view : payload.data(); }
  size_t size() const { return view != nullptr ? view_size : payload.size(); }
};

}  // namespace orrery::internal
