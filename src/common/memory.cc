#include "src/common/memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

namespace orrery {

namespace {

// Below this, one thread does it: starting threads costs more than it saves.
constexpr size_t kParallelBytes = 64 << 20;
constexpr size_t kPage = 4096;

// Runs `piece(begin, length)` over [0, size) in page-aligned pieces, one per core.
void InPieces(size_t size, const std::function<void(size_t, size_t)>& piece) {
  const size_t threads = size < kParallelBytes ? 1 : std::max(1u, std::thread::hardware_concurrency());
  const size_t per = (size / threads + kPage - 1) / kPage * kPage;
  std::vector<std::thread> helpers;
  for (size_t i = 1; i < threads && i * per < size; ++i) {
    helpers.emplace_back([&piece, i, per, size] { piece(i * per, std::min(per, size - i * per)); });
  }
  piece(0, std::min(per, size));
  for (auto& helper : helpers) helper.join();
}

}  // namespace

void ParallelCopy(void* dst, const void* src, size_t size) {
  if (size == 0) return;  // an empty vector's data() may be null, which memcpy must not get
  InPieces(size, [dst, src](size_t begin, size_t length) {
    std::memcpy(static_cast<char*>(dst) + begin, static_cast<const char*>(src) + begin, length);
  });
}

bool PopulateForWrite(void* p, size_t size) {
  // Whole pages inside the range only: the rest of a partial page is not ours to fault.
  auto first = (reinterpret_cast<uintptr_t>(p) + kPage - 1) / kPage * kPage;
  auto last = (reinterpret_cast<uintptr_t>(p) + size) / kPage * kPage;
  if (last <= first) return true;
  auto* base = reinterpret_cast<char*>(first);
  std::atomic<bool> ok{true};
  InPieces(last - first, [base, &ok](size_t begin, size_t length) {
    if (::madvise(base + begin, length, MADV_POPULATE_WRITE) != 0) ok = false;
  });
  return ok;
}

}  // namespace orrery
