#include "src/common/memory.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace orrery {
namespace {

// Large enough for the parallel path, and not a whole number of pages.
constexpr size_t kLarge = (130 << 20) + 12345;

std::vector<uint8_t> Pattern(size_t size) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(i * 131 + (i >> 12));
  return bytes;
}

TEST(MemoryTest, ParallelCopyCopiesEveryByteOfLargeAndSmallRanges) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{4097}, kLarge}) {
    std::vector<uint8_t> source = Pattern(size);
    std::vector<uint8_t> target(size + 2, 0xee);  // guard bytes past the end stay untouched
    ParallelCopy(target.data(), source.data(), size);
    EXPECT_TRUE(std::equal(source.begin(), source.end(), target.begin())) << size;
    EXPECT_EQ(target[size], 0xee);
    EXPECT_EQ(target[size + 1], 0xee);
  }
}

TEST(MemoryTest, PopulateForWriteNeverChangesABytePartialPagesIncluded) {
  std::vector<uint8_t> bytes = Pattern(kLarge);
  std::vector<uint8_t> before = bytes;
  // An unaligned start and end: the partial pages around it must be left alone.
  PopulateForWrite(bytes.data() + 100, bytes.size() - 200);
  EXPECT_EQ(bytes, before);
}

}  // namespace
}  // namespace orrery
