// ray::Remote / ray::Task: calling a plain function as a task, with compile-time checks of
// its arguments, several typed return values (ray::Returns) and per-call options. Part of the
// public API (ray/api.h).
#pragma once

#include <concepts>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ray/api/internal/remote_call.h"
#include "ray/api/object_ref.h"
#include "ray/api/options.h"
#include "ray/api/returns.h"

namespace ray {

// A function that can be called as a task. Made by ray::Remote(f) or ray::Task(f); cheap to
// copy. Calling it submits a task and returns at once:
//   ray::ObjectRef<int> x = ray::Remote(add)(1, 2);
//   auto y = ray::Remote(add).Options({.num_cpus = 2})(x, 10);  // x: a dependency
// Each argument is a value or an ObjectRef<U>; a value must convert to f's parameter type, a
// ref's U too (checked at compile time; a view parameter ray::ArrayView<E> / std::span<const E>
// / std::string_view takes a std::vector<E> / std::string and reads it without a copy).
template <typename Fn>
class RemoteFunction;

template <typename R, typename... P>
class RemoteFunction<R (*)(P...)> {
  static_assert(internal::ParameterChecks<R (*)(P...), std::index_sequence_for<P...>>::kOk &&
                internal::ResultChecks<R (*)(P...), std::remove_cvref_t<R>>::kOk);
  // False after a failed check: calls then instantiate nothing more (one message per mistake).
  static constexpr bool kValid =
      (internal::ValidParameter<P>() && ...) &&
      internal::ResultChecks<R (*)(P...), std::remove_cvref_t<R>>::kValid;

 public:
  using FunctionPointer = R (*)(P...);
  // The return value(s) of a call: ObjectRef<R>, or std::tuple<ObjectRef<T>...> for
  // ray::Returns<T...>.
  using Result = typename internal::CallResultOf<std::remove_cvref_t<R>>::type;
  static constexpr size_t kNumReturns = internal::ReturnsTraits<std::remove_cvref_t<R>>::kCount;

  explicit RemoteFunction(FunctionPointer f, TaskOptions options = {})
      : function_(f), options_(options) {}

  // A copy with other options.
  RemoteFunction Options(const TaskOptions& options) const {
    return RemoteFunction(function_, options);
  }
  // Sets the options of this one.
  RemoteFunction& SetOptions(const TaskOptions& options) {
    options_ = options;
    return *this;
  }

  // Submits f(args...) as a task; returns its ObjectRef(s) at once. Throws ray::RayError before
  // ray::Init, for a nil or stale ObjectRef argument, or for invalid options.
  template <typename... A>
  Result operator()(A&&... args) const {
    static_assert(sizeof...(A) == sizeof...(P),
                  "ray::Remote(f)(args...): wrong number of arguments for f");
    if constexpr (sizeof...(A) == sizeof...(P)) {
      constexpr bool ok = internal::ArgumentChecks<FunctionPointer, std::tuple<A...>,
                                                   std::index_sequence_for<P...>>::kOk;
      if constexpr (ok && kValid) return Submit(std::forward<A>(args)...);
    }
    throw RayError("unreachable");  // only after a failed static_assert
  }

  // Same as operator() (Ray's C++ spelling: ray::Task(f).Remote(args...)).
  template <typename... A>
  Result Remote(A&&... args) const {
    return (*this)(std::forward<A>(args)...);
  }

  FunctionPointer function() const { return function_; }
  const TaskOptions& options() const { return options_; }

 private:
  template <typename... A>
  Result Submit(A&&... args) const {
    core::CoreRuntime& runtime = internal::Runtime("ray::Remote(f)(args...)");
    core::TaskSpec spec;
    spec.invoker = &internal::Invoker<FunctionPointer, internal::StoredArg<P, A>...>::Run;
    spec.function = FunctionAddress(function_);
    spec.options = internal::CoreOptions(options_, kNumReturns, spec.function);
    spec.args.reserve(sizeof...(P));
    (internal::AddNestedRefs(spec.nested_refs, args), ...);
    (internal::AppendTaskArgs<P>(spec.args, std::forward<A>(args)), ...);
    std::vector<ObjectID> ids = internal::ValueOrThrow(runtime.Submit(std::move(spec)));
    if (ids.size() != kNumReturns) internal::ThrowArity(nullptr, ids.size(), kNumReturns);
    return internal::CallResultOf<std::remove_cvref_t<R>>::Make(ids);
  }

  FunctionPointer function_;
  TaskOptions options_;
};

namespace internal {
// A captureless, non-generic lambda (or other class) that converts to a function pointer.
template <typename L>
concept FunctionPointerLike = requires(const L& l) {
  +l;
  requires std::is_pointer_v<decltype(+l)>;
  requires std::is_function_v<std::remove_pointer_t<decltype(+l)>>;
};
}  // namespace internal

// ray::Remote(f) for a plain function (free or static member) ...
template <typename R, typename... P>
RemoteFunction<R (*)(P...)> Remote(R (*f)(P...)) {
  return RemoteFunction<R (*)(P...)>(f);
}
// ... or a captureless lambda: ray::Remote([](int a) { return a + 1; }).
template <typename L>
requires std::is_class_v<std::remove_cvref_t<L>>
auto Remote(L&& lambda) {
  static_assert(internal::FunctionPointerLike<std::remove_cvref_t<L>>,
                "ray::Remote takes a function pointer or a captureless, non-generic lambda "
                "(captures cannot cross processes; pass them as arguments)");
  if constexpr (internal::FunctionPointerLike<std::remove_cvref_t<L>>) {
    return Remote(+lambda);
  }
}

// Same as ray::Remote(f), for ray::Task(f).Remote(args...).
template <typename R, typename... P>
RemoteFunction<R (*)(P...)> Task(R (*f)(P...)) {
  return RemoteFunction<R (*)(P...)>(f);
}
template <typename L>
requires std::is_class_v<std::remove_cvref_t<L>>
auto Task(L&& lambda) { return Remote(std::forward<L>(lambda)); }

}  // namespace ray
