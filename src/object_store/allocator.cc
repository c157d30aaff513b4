#include "src/object_store/allocator.h"

#include <iterator>
#include <limits>

namespace orrery::object_store {

Allocator::Allocator(size_t capacity) : capacity_(capacity / kAlignment * kAlignment) {
  if (capacity_ > 0) AddFree(0, capacity_);
}

std::optional<size_t> Allocator::Allocate(size_t size) {
  if (size == 0) size = kAlignment;
  // Rounding up would wrap past SIZE_MAX into a small size and hand out a block too small.
  if (size > std::numeric_limits<size_t>::max() - (kAlignment - 1)) return std::nullopt;
  size_t rounded = (size + kAlignment - 1) / kAlignment * kAlignment;
  auto best = free_by_size_.lower_bound({rounded, 0});
  if (best == free_by_size_.end()) return std::nullopt;
  auto [block_size, block_offset] = *best;
  RemoveFree(free_by_offset_.find(block_offset));
  // Carve from the front: the remainder stays where it was, still aligned.
  size_t offset = block_offset;
  if (block_size > rounded) AddFree(block_offset + rounded, block_size - rounded);
  allocated_.emplace(offset, rounded);
  used_ += rounded;
  return offset;
}

bool Allocator::Free(size_t offset) {
  auto allocated = allocated_.find(offset);
  if (allocated == allocated_.end()) return false;
  size_t size = allocated->second;
  allocated_.erase(allocated);
  used_ -= size;
  // Merge with the free blocks right after and right before, so that free space never sits in two
  // adjacent pieces that together would fit a request neither fits alone.
  auto next = free_by_offset_.lower_bound(offset);
  if (next != free_by_offset_.end() && next->first == offset + size) {
    size += next->second;
    auto after = std::next(next);
    RemoveFree(next);
    next = after;
  }
  if (next != free_by_offset_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == offset) {
      offset = prev->first;
      size += prev->second;
      RemoveFree(prev);
    }
  }
  AddFree(offset, size);
  return true;
}

size_t Allocator::largest_free_block() const { return free_by_size_.empty() ? 0 : free_by_size_.rbegin()->first; }

double Allocator::Fragmentation() const {
  size_t free = free_bytes();
  if (free == 0) return 0.0;
  return 1.0 - static_cast<double>(largest_free_block()) / static_cast<double>(free);
}

void Allocator::AddFree(size_t offset, size_t size) {
  free_by_offset_.emplace(offset, size);
  free_by_size_.emplace(size, offset);
}

void Allocator::RemoveFree(std::map<size_t, size_t>::iterator it) {
  free_by_size_.erase({it->second, it->first});
  free_by_offset_.erase(it);
}

}  // namespace orrery::object_store
