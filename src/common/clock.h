// Wall-clock and monotonic time in the units the protocol uses.
#pragma once

#include <chrono>
#include <cstdint>

namespace orrery {

// Milliseconds since the Unix epoch, for timestamps shown to people.
inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Milliseconds of a clock that never jumps, for timeouts and durations.
inline int64_t MonotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace orrery
