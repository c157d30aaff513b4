/// Ray's type traits (ray::internal): whether a type is an object ref, an actor handle, or a
/// cross-language callable, detected as Ray does, by the member that marks each.
#pragma once

#include <type_traits>
#include <utility>

namespace ray {
namespace internal {

template <class T, class = void>
struct is_object_ref_t : std::false_type {};
template <class T>
struct is_object_ref_t<T, std::void_t<decltype(std::declval<T>().IsObjectRef())>> : std::true_type {};
template <typename T>
inline constexpr bool is_object_ref_v = is_object_ref_t<T>::value;

template <class T, class = void>
struct is_actor_handle_t : std::false_type {};
template <class T>
struct is_actor_handle_t<T, std::void_t<decltype(std::declval<T>().IsActorHandle())>> : std::true_type {};
template <typename T>
inline constexpr bool is_actor_handle_v = is_actor_handle_t<T>::value;

// Python callables have IsPython() returning true; Java ones return false from it.
template <class T, class = void>
struct is_python_t : std::false_type {};
template <class T>
struct is_python_t<T, std::void_t<decltype(std::declval<T>().IsPython())>> : std::true_type {};
template <typename T>
inline constexpr bool is_python_v = is_python_t<T>::value;

template <class T, class = void>
struct is_java_t : std::false_type {};
template <class T>
struct is_java_t<T, std::void_t<decltype(std::declval<T>().IsJava())>> : std::true_type {};
template <typename T>
inline constexpr bool is_java_v = is_java_t<T>::value;

template <typename T>
inline constexpr bool is_x_lang_v = is_python_v<T> || is_java_v<T>;

}  // namespace internal
}  // namespace ray
