// ray::Returns<T...>: a task's several typed return values. Part of the public API (ray/api.h).
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

namespace ray {

// A function that returns several values, each its own object with its own typed ObjectRef:
//   ray::Returns<int, double, std::string> f() { return {0, 0.0, "zero"}; }
//   auto [a, b, c] = ray::Remote(f)();  // ObjectRef<int>, <double>, <std::string>
// A std::tuple subclass: get<I>, structured bindings and CTAD (ray::Returns(1, 2.0)) work.
// (A function returning a plain std::tuple returns one object holding the tuple.)
template <typename... T>
struct Returns : std::tuple<T...> {
  static_assert(sizeof...(T) >= 1, "ray::Returns needs at least one type");
  using std::tuple<T...>::tuple;
  Returns() = default;
  Returns(const std::tuple<T...>& values) : std::tuple<T...>(values) {}        // NOLINT
  Returns(std::tuple<T...>&& values) : std::tuple<T...>(std::move(values)) {}  // NOLINT
};
template <typename... T>
Returns(T...) -> Returns<T...>;

}  // namespace ray

template <typename... T>
struct std::tuple_size<ray::Returns<T...>> : std::integral_constant<size_t, sizeof...(T)> {};
template <size_t I, typename... T>
struct std::tuple_element<I, ray::Returns<T...>> : std::tuple_element<I, std::tuple<T...>> {};
