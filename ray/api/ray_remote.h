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
//
// Actors: a factory (a function returning T* or std::unique_ptr<T>) and methods of T registered
// the same way make T an actor class that Python uses (ray.cpp_actor_class):
//   Counter* CreateCounter(int start) { return new Counter(start); }
//   RAY_REMOTE(CreateCounter, &Counter::Add, &Counter::Value);  // "Counter::Add", ...
//   c = ray.cpp_actor_class("CreateCounter", "Counter").remote(10)
//   ray.get(c.Add.remote(5))                              # 15
// A method is registered as "Class::Method" and called from Python by "Method"; its arguments
// and results cross as a function's do. A factory returning T by value is not one here (such a
// function's result is a value).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "ray/api/actor.h"
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

// Is R what an actor's factory returns (T* or std::unique_ptr<T> of a class T)?
template <typename R>
constexpr bool kIsActorFactoryResult = false;
template <typename T>
constexpr bool kIsActorFactoryResult<T*> = std::is_class_v<T>;
template <typename T, typename D>
constexpr bool kIsActorFactoryResult<std::unique_ptr<T, D>> = std::is_class_v<T>;

template <typename P>
constexpr void CheckNoViews() {
  static_assert(!ViewParam<P>::kValue,
                "RAY_REMOTE: the function takes a view (std::string_view, std::span, "
                "ray::ArrayView): values from other languages are msgpack, take T or const T&");
}

// A function; or an actor's factory, when it returns T* or std::unique_ptr<T>.
template <typename R, typename... P>
void RegisterRemote(const std::string& name, R (*f)(P...)) {
  static_assert(ParameterChecks<R (*)(P...), std::index_sequence_for<P...>>::kOk);
  (CheckNoViews<P>(), ...);
  constexpr bool kArgsOk = (ValidParameter<P>() && ...) && !(ViewParam<P>::kValue || ...);
  if constexpr (kIsActorFactoryResult<std::remove_cvref_t<R>>) {
    using Invoke = ActorFactoryInvoker<R (*)(P...), std::remove_cvref_t<P>...>;
    if constexpr (kArgsOk) {
      core::RegisterFunction({.name = name.c_str(),
                              .invoker = &Invoke::Run,
                              .function = FunctionAddress(f),
                              .num_args = sizeof...(P),
                              .num_returns = 1,
                              .kind = core::RegisteredKind::kActorFactory,
                              .actor_type = TypeName<typename Invoke::T>().c_str()});
    }
  } else {
    static_assert(ResultChecks<R (*)(P...), std::remove_cvref_t<R>>::kOk);
    if constexpr (kArgsOk && ResultChecks<R (*)(P...), std::remove_cvref_t<R>>::kValid) {
      using Invoke = InvokerOf<ReturnFormat::kMsgpack, R (*)(P...), std::remove_cvref_t<P>...>;
      core::RegisterFunction({.name = name.c_str(),
                              .invoker = &Invoke::Run,
                              .function = FunctionAddress(f),
                              .num_args = sizeof...(P),
                              .num_returns = ReturnsTraits<std::remove_cvref_t<R>>::kCount});
    }
  }
}

// A method of an actor's class T, of shape Fn.
template <typename T, typename M, typename Fn>
struct MethodRegistration;
template <typename T, typename M, typename R, typename... P>
struct MethodRegistration<T, M, R (*)(P...)> {
  using Function = R (*)(P...);
  static void Register(const std::string& name, M method) {
    static_assert(ParameterChecks<Function, std::index_sequence_for<P...>>::kOk &&
                  ResultChecks<Function, std::remove_cvref_t<R>>::kOk);
    (CheckNoViews<P>(), ...);
    if constexpr ((ValidParameter<P>() && ...) && !(ViewParam<P>::kValue || ...) &&
                  ResultChecks<Function, std::remove_cvref_t<R>>::kValid) {
      const MethodTarget target =
          TargetOf<T, M, ReturnFormat::kMsgpack, Function, std::remove_cvref_t<P>...>(method);
      std::vector<core::TaskArg> first;
      if (target.named_by_words) AppendTaskArgs<std::array<int64_t, 2>>(first, target.words);
      const std::string& first_arg = first.empty() ? std::string() : first[0].value;
      core::RegisterFunction({.name = name.c_str(),
                              .invoker = target.invoker,
                              .function = target.function,
                              .num_args = sizeof...(P),
                              .num_returns = ReturnsTraits<std::remove_cvref_t<R>>::kCount,
                              .kind = core::RegisteredKind::kMethod,
                              .actor_type = TypeName<T>().c_str(),
                              .first_arg = first_arg.data(),
                              .first_arg_size = first_arg.size()});
    }
  }
};

// A method of an actor's class (RAY_REMOTE(&Counter::Add), registered as "Counter::Add"):
// Python calls it on actors of that class by the name after the class's (handle.Add).
template <typename M>
requires std::is_member_function_pointer_v<M>
void RegisterRemote(const std::string& name, M method) {
  MethodRegistration<typename MethodTraits<M>::Class, M,
                     typename MethodTraits<M>::Function>::Register(name, method);
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
