/// ray::internal::EitherOptional<T>: a std::optional<T> that also converts to and from
/// boost::optional<T>. Ray declares GetActor's result and RayConfig::runtime_env as
/// boost::optional; programs written for Ray spell that type, programs written since C++17
/// spell std::optional, and both must compile against ray_compat.
#pragma once

#include <optional>
#include <utility>

#include <boost/none.hpp>
#include <boost/optional.hpp>

namespace ray {
namespace internal {

template <typename T>
class EitherOptional : public std::optional<T> {
 public:
  using std::optional<T>::optional;
  using std::optional<T>::operator=;

  EitherOptional() = default;
  EitherOptional(const std::optional<T>& value) : std::optional<T>(value) {}
  EitherOptional(std::optional<T>&& value) : std::optional<T>(std::move(value)) {}
  EitherOptional(const boost::optional<T>& value) {
    if (value) this->emplace(*value);
  }
  EitherOptional(boost::none_t) {}

  EitherOptional& operator=(const boost::optional<T>& value) {
    if (value) {
      this->emplace(*value);
    } else {
      this->reset();
    }
    return *this;
  }
  EitherOptional& operator=(boost::none_t) {
    this->reset();
    return *this;
  }

  operator boost::optional<T>() const {
    if (!this->has_value()) return boost::none;
    return boost::optional<T>(**this);
  }
};

}  // namespace internal
}  // namespace ray
