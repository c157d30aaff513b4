// Allocator: the placement of objects in the object store's shared-memory region. It works on
// offsets only and never touches the memory, so the store can keep the region mapped in many
// processes while one thread decides where each object goes.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"

namespace orrery::object_store {

// Hands out 64-byte-aligned ranges of a region of `capacity` bytes, best fit (the smallest free
// block that fits), coalescing a freed block with free neighbours. Not thread-safe: the store's
// thread owns it. Every operation is O(log n) in the number of blocks.
class Allocator {
 public:
  // A cache line: objects never share one, and readers can use aligned vector loads.
  static constexpr size_t kAlignment = 64;

  // `capacity` is rounded down to kAlignment.
  explicit Allocator(size_t capacity);

  // An offset of at least `size` bytes (size rounded up to kAlignment; 0 counts as kAlignment),
  // or nullopt when no free block is large enough.
  std::optional<size_t> Allocate(size_t size);
  // Frees the block that Allocate returned at `offset`. Returns false (and changes nothing) for an
  // offset that is not an allocated block.
  bool Free(size_t offset);

  size_t capacity() const { return capacity_; }
  // Sum of allocated (rounded) sizes.
  size_t used_bytes() const { return used_; }
  size_t free_bytes() const { return capacity_ - used_; }
  size_t largest_free_block() const;
  size_t free_block_count() const { return free_by_offset_.size(); }
  size_t allocated_block_count() const { return allocated_.size(); }
  // 1 - largest_free_block / free_bytes (0 when nothing is free): how scattered the free space is.
  double Fragmentation() const;

 private:
  void AddFree(size_t offset, size_t size);
  void RemoveFree(std::map<size_t, size_t>::iterator it);

  size_t capacity_;
  size_t used_ = 0;
  // The free blocks twice: by offset, to find a freed block's neighbours; by (size, offset), to
  // find the best fit, the lowest offset among equal sizes (which keeps the low end packed).
  std::map<size_t, size_t> free_by_offset_;
  std::set<std::pair<size_t, size_t>> free_by_size_;
  // offset -> rounded size, so Free needs only the offset.
  absl::flat_hash_map<size_t, size_t> allocated_;
};

}  // namespace orrery::object_store
