// ShmRegion: the store's shared memory, one memfd (an anonymous file: unlike a /dev/shm name it
// cannot outlive every process that maps it) mapped read-write. The raylet creates it; each
// client maps the same file from the descriptor the store passes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"

namespace orrery::object_store {

class ShmRegion {
 public:
  // A new region of `size` bytes. `prefault` touches every page now, so that the first writes
  // into it later do not pay for page faults.
  static absl::StatusOr<std::unique_ptr<ShmRegion>> Create(size_t size, bool prefault);
  // Maps a region another process created. Takes ownership of `fd`. `populate` fills in this
  // process's page tables now (for a prefaulted region: its first writes then take no faults).
  static absl::StatusOr<std::unique_ptr<ShmRegion>> Map(int fd, size_t size, bool populate);
  ~ShmRegion();
  ShmRegion(const ShmRegion&) = delete;
  ShmRegion& operator=(const ShmRegion&) = delete;

  uint8_t* base() const { return base_; }
  size_t size() const { return size_; }
  int fd() const { return fd_; }

 private:
  ShmRegion(int fd, uint8_t* base, size_t size) : fd_(fd), base_(base), size_(size) {}
  int fd_;
  uint8_t* base_;
  size_t size_;
};

}  // namespace orrery::object_store
