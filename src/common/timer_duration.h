// A timer's duration from milliseconds a peer or user supplied. std::chrono converts a timer's
// milliseconds to nanoseconds, which overflows (undefined behaviour) past ~292 years: a request
// asking to wait longer than kLongestTimerMs waits that long, and a negative one not at all.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace orrery {

// 100 years: far past any wait anyone means, far from overflowing nanoseconds.
inline constexpr int64_t kLongestTimerMs = int64_t{100} * 365 * 24 * 3600 * 1000;

inline std::chrono::milliseconds TimerDuration(int64_t ms) {
  return std::chrono::milliseconds(std::clamp<int64_t>(ms, 0, kLongestTimerMs));
}

}  // namespace orrery
