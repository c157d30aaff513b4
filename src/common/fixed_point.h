// Resource quantities in fixed point, so that 0.5 + 0.5 is exactly 1 and repeated
// acquire/release never drifts the way doubles do.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

namespace orrery {

class FixedPoint {
 public:
  // Four decimal places: 0.0001 is the smallest quantity a resource can be split into.
  static constexpr int64_t kScale = 10000;

  constexpr FixedPoint() = default;
  static constexpr FixedPoint FromRaw(int64_t raw) { return FixedPoint(raw); }
  // Rounds to the nearest representable quantity. Callers validate range and finiteness first.
  static FixedPoint FromDouble(double value) {
    return FixedPoint(static_cast<int64_t>(std::llround(value * kScale)));
  }
  static constexpr FixedPoint FromInt(int64_t value) { return FixedPoint(value * kScale); }

  constexpr int64_t raw() const { return raw_; }
  double ToDouble() const { return static_cast<double>(raw_) / kScale; }
  constexpr bool IsWhole() const { return raw_ % kScale == 0; }
  // Whole units, rounding down.
  constexpr int64_t Floor() const { return raw_ >= 0 ? raw_ / kScale : -((-raw_ + kScale - 1) / kScale); }
  // Whole units, rounding up.
  constexpr int64_t Ceil() const { return -FixedPoint(-raw_).Floor(); }
  // Shortest decimal form: "1", "0.5", "0.0001".
  std::string ToString() const;

  constexpr FixedPoint operator+(FixedPoint o) const { return FixedPoint(raw_ + o.raw_); }
  constexpr FixedPoint operator-(FixedPoint o) const { return FixedPoint(raw_ - o.raw_); }
  constexpr FixedPoint operator-() const { return FixedPoint(-raw_); }
  FixedPoint& operator+=(FixedPoint o) { raw_ += o.raw_; return *this; }
  FixedPoint& operator-=(FixedPoint o) { raw_ -= o.raw_; return *this; }
  constexpr auto operator<=>(const FixedPoint&) const = default;

 private:
  constexpr explicit FixedPoint(int64_t raw) : raw_(raw) {}
  int64_t raw_ = 0;
};

}  // namespace orrery
