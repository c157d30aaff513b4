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

// Seconds since `start` on the monotonic clock, for durations measured and reported.
inline double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace orrery
