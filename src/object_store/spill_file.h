// Spill files: an object's bytes written to, and read back from, a file of the spill directory.
// Blocking: called on the store's I/O thread only.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace orrery::object_store {

// Writes `size` bytes to a new file at `path`. On failure (a full disk) the partial file is
// removed and the error names the path.
absl::Status WriteSpillFile(const std::string& path, const uint8_t* data, uint64_t size);
// Reads exactly `size` bytes of `path` into `out`.
absl::Status ReadSpillFile(const std::string& path, uint8_t* out, uint64_t size);

}  // namespace orrery::object_store
