// RAY_REMOTE: C++ functions that other languages call by name. Part of the public API
// (ray/api.h).
//
//   int add(int a, int b) { return a + b; }
//   namespace ns { std::string greet(const std::string& name) { return "hi " + name; } }
//   RAY_REMOTE(add, ns::greet);  // at namespace scope, in a shared library
//
// From Python, with that library loaded by ray.init(code_search_path=[...]) (docs/PYTHON.md):
//   ray.get(ray.cpp_function("add").remote(1, 2))         # 3
//   ray.get(ray.cpp_function("ns::greet").remote("ray"))  # 'hi ray'
//
// A function is registered under its name as written in the macro ("add", "ns::greet"); it
// must not be overloaded. Arguments arrive as msgpack values and are read as the parameter
// types (a Python list of floats reads as std::vector<double>; a mismatch fails the task with a
// TaskError). Parameters are values (T, const T&), not views. Results are written as msgpack,
// also strings and vectors (which C++ stores raw otherwise), so that other languages read them;
// ray::Returns<T...> gives several results, void gives None.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "ray/api/remote.h"
#include "ray/core_worker/function_registry.h"
#include "ray/function/function_id.h"

#define RAY_INTERNAL_CONCAT_INNER(a, b) a##b
#define RAY_INTERNAL_CONCAT(a, b) RAY_INTERNAL_CONCAT_INNER(a, b)

// Registers one or more functions by name: RAY_REMOTE(add) or RAY_REMOTE(add, ns::greet).
#define RAY_REMOTE(...)                                                                         \
  [[maybe_unused]] static const bool RAY_INTERNAL_CONCAT(ray_remote_registered_, __COUNTER__) = \
      ::ray::internal::RegisterRemotes(#__VA_ARGS__, __VA_ARGS__)

namespace ray::internal {

// The names in the macro's text "add, ns::greet" (split at commas outside brackets, spaces and
// a leading & dropped).
std::vector<std::string> SplitRemoteNames(std::string_view names);

template <typename R, typename... P>
void RegisterRemote(const std::string& name, R (*f)(P...)) {
  static_assert(ParameterChecks<R (*)(P...), std::index_sequence_for<P...>>::kOk &&
                ResultChecks<R (*)(P...), std::remove_cvref_t<R>>::kOk);
  static_assert((!ViewParam<P>::kValue && ...),
                "RAY_REMOTE: the function takes a view (std::string_view, std::span, "
                "ray::ArrayView): values from other languages are msgpack, take T or const T&");
  if constexpr ((ValidParameter<P>() && ...) && !(ViewParam<P>::kValue || ...) &&
                ResultChecks<R (*)(P...), std::remove_cvref_t<R>>::kValid) {
    using Invoke = InvokerOf<ReturnFormat::kMsgpack, R (*)(P...), std::remove_cvref_t<P>...>;
    core::RegisterFunction(name.c_str(), &Invoke::Run, FunctionAddress(f), sizeof...(P),
                           ReturnsTraits<std::remove_cvref_t<R>>::kCount);
  }
}

template <typename... Fn>
bool RegisterRemotes(std::string_view names, Fn... functions) {
  std::vector<std::string> split = SplitRemoteNames(names);
  split.resize(sizeof...(Fn));  // the same count unless a macro hid a comma
  size_t i = 0;
  (RegisterRemote(split[i++], functions), ...);
  return true;
}

}  // namespace ray::internal
