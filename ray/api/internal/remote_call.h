// The machinery behind ray::Remote (ray/api/remote.h): how a call's arguments become task
// arguments and are read back in the worker, the compile-time checks of functions and calls,
// and the invoker that runs a function on serialized arguments. Not for users to include.
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

#include "ray/api/internal/serialization.h"
#include "ray/api/internal/status.h"
#include "ray/api/object_ref.h"
#include "ray/api/options.h"
#include "ray/api/returns.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/function/function_id.h"
#include "ray/object/status.h"

namespace ray {

namespace internal {

template <typename T>
struct ReturnsTraits {
  static constexpr bool kIsReturns = false;
  static constexpr size_t kCount = 1;
};
template <typename... T>
struct ReturnsTraits<Returns<T...>> {
  static constexpr bool kIsReturns = true;
  static constexpr size_t kCount = sizeof...(T);
};

// Parameters that receive a zero-copy view of a raw object: ray::ArrayView<E>,
// std::span<const E> and std::string_view (E = char).
template <typename P>
struct ViewParamOf {
  static constexpr bool kValue = false;
};
template <typename E>
struct ViewParamOf<ArrayView<E>> {
  static constexpr bool kValue = true;
  using Elem = E;
};
template <typename E>
struct ViewParamOf<std::span<const E>> {
  static constexpr bool kValue = true;
  using Elem = E;
};
template <>
struct ViewParamOf<std::string_view> {
  static constexpr bool kValue = true;
  using Elem = char;
};
template <typename P>
using ViewParam = ViewParamOf<std::remove_cvref_t<P>>;

// How the invoker reads an argument: ViewArg<E> as a view, any other S with Deserialize<S>.
template <typename E>
struct ViewArg {};
template <typename S>
struct ArgHolderOf {
  static constexpr bool kView = false;
  using type = S;
};
template <typename E>
struct ArgHolderOf<ViewArg<E>> {
  static constexpr bool kView = true;
  using Elem = E;
  using type = ArrayView<E>;
};
// Stored-argument marker: a std::vector<ObjectRef<U>> passed for a std::vector<U> parameter.
// It travels as a count and one reference per element; the task gets the values (and runs once
// all of them exist), as Ray's f.remote(*refs) does.
template <typename U>
struct RefList {};
template <typename S>
struct IsRefList {
  static constexpr bool kValue = false;
};
template <typename U>
struct IsRefList<RefList<U>> {
  static constexpr bool kValue = true;
  using Elem = U;
};
template <typename U>
struct ArgHolderOf<RefList<U>> {
  static constexpr bool kView = false;
  using type = std::vector<U>;
};
template <typename S>
using ArgHolder = typename ArgHolderOf<S>::type;

template <typename T>
struct RefListOf {
  static constexpr bool kValue = false;
};
template <typename U>
struct RefListOf<std::vector<ObjectRef<U>>> {
  static constexpr bool kValue = true;
  using Elem = U;
};
template <typename P, typename A>
constexpr bool IsRefListFor() {
  using D = std::remove_cvref_t<A>;
  if constexpr (RefListOf<D>::kValue) {
    return std::is_same_v<std::remove_cvref_t<P>, std::vector<typename RefListOf<D>::Elem>>;
  } else {
    return false;
  }
}

template <typename T>
struct RefValueOf {};
template <typename U>
struct RefValueOf<ObjectRef<U>> {
  using type = U;
};

// The type the invoker reads for parameter P when the caller passes an A: the view for a view
// parameter; for an ObjectRef<U>, U (converted to P at the call, as C++ would); for a value,
// P's value type (the caller converts before serializing).
template <typename P, typename A, typename = void>
struct StoredArgOf {
  using type = std::remove_cvref_t<P>;
};
template <typename P, typename A>
struct StoredArgOf<P, A, std::enable_if_t<ViewParam<P>::kValue>> {
  using type = ViewArg<typename ViewParam<P>::Elem>;
};
template <typename P, typename A>
struct StoredArgOf<
    P, A, std::enable_if_t<!ViewParam<P>::kValue && kIsObjectRef<std::remove_cvref_t<A>>>> {
  using type = typename RefValueOf<std::remove_cvref_t<A>>::type;
};
template <typename P, typename A>
struct StoredArgOf<P, A, std::enable_if_t<IsRefListFor<P, A>()>> {
  using type = RefList<typename RefListOf<std::remove_cvref_t<A>>::Elem>;
};
template <typename P, typename A>
using StoredArg = typename StoredArgOf<P, A>::type;

// Can a stored U be viewed as the elements E of a view parameter?
template <typename U, typename E>
constexpr bool ViewableAs() {
  if constexpr (RawWrite<U>::kValue) {
    using Have = typename RawWrite<U>::Elem;
    return std::is_same_v<Have, E> ||
           (sizeof(E) == 1 && sizeof(Have) == 1 && !std::is_same_v<E, bool> &&
            !std::is_same_v<Have, bool> && std::is_integral_v<E> == std::is_integral_v<Have>);
  } else {
    return false;
  }
}

// Compile-time checks of a remote function and of each call. Each check is a function template
// whose template parameters name what it checks: the compiler prints them with their values in
// the "In instantiation of ... [with Function = int (*)(int, Foo); ParameterIndex = 1; ...]"
// line of each message. Indexes count from 0, as at run time. A check returns true: its
// static_asserts report; the Valid* functions say whether to go on instantiating (so that a
// wrong use gives one message, not the errors of the code below it).

// What is wrong with a parameter of type P, if anything (serializability aside).
enum class ParameterProblem { kNone, kOutReference, kPointer, kObjectRef, kViewOfNonRaw, kView };
template <typename P>
constexpr ParameterProblem ProblemOfParameter() {
  using D = std::remove_cvref_t<P>;
  if (std::is_lvalue_reference_v<P> && !std::is_const_v<std::remove_reference_t<P>>) {
    return ParameterProblem::kOutReference;
  }
  if (std::is_pointer_v<D>) return ParameterProblem::kPointer;
  if (kIsObjectRef<D>) return ParameterProblem::kObjectRef;
  if constexpr (ViewParam<P>::kValue) {
    if (!kIsRawElement<typename ViewParam<P>::Elem>) return ParameterProblem::kViewOfNonRaw;
  } else if (kIsNonOwning<D>) {
    return ParameterProblem::kView;
  }
  return ParameterProblem::kNone;
}

// Can a task take a parameter of type P?
template <typename P>
constexpr bool ValidParameter() {
  using D = std::remove_cvref_t<P>;
  return ProblemOfParameter<P>() == ParameterProblem::kNone &&
         (ViewParam<P>::kValue || kIsSerializable<D>);
}

template <typename Function, size_t ParameterIndex, typename Parameter>
constexpr bool CheckParameter() {
  using Problem = ParameterProblem;
  constexpr Problem problem = ProblemOfParameter<Parameter>();
  static_assert(problem != Problem::kOutReference,
                "ray::Remote: f's Parameter at ParameterIndex is a non-const lvalue reference "
                "(T&): a task gets copies of its arguments and cannot write them back; take T or "
                "const T&");
  static_assert(problem != Problem::kPointer,
                "ray::Remote: f's Parameter at ParameterIndex is a pointer: arguments cross "
                "processes by value; take std::string, std::vector<E>, ray::ArrayView<E> or "
                "std::span<const E>");
  static_assert(problem != Problem::kObjectRef,
                "ray::Remote: f's Parameter at ParameterIndex is an ObjectRef: remote functions "
                "take values (an ObjectRef passed as an argument is resolved to its value before "
                "the task runs)");
  static_assert(problem != Problem::kViewOfNonRaw,
                "ray::Remote: f's Parameter at ParameterIndex is a view (ArrayView<E>, "
                "span<const E>) of elements that are not stored raw: E must be a number, "
                "std::byte or a struct with RAY_RAW_ELEMENT(); or take a std::vector<E>");
  static_assert(problem != Problem::kView,
                "ray::Remote: f's Parameter at ParameterIndex is a view type that is not "
                "supported: take ray::ArrayView<E>, std::span<const E> or std::string_view");
  if constexpr (problem == Problem::kNone && !ViewParam<Parameter>::kValue) {
    static_assert(CheckSerializable<std::remove_cvref_t<Parameter>>());
  }
  return true;
}

template <typename Function, typename Indexes>
struct ParameterChecks;
template <typename R, typename... P, size_t... I>
struct ParameterChecks<R (*)(P...), std::index_sequence<I...>> {
  static constexpr bool kOk = (CheckParameter<R (*)(P...), I, P>() && ...);
};

// The checks of one argument (a value or an ObjectRef<U>) for its parameter.
template <typename Function, size_t ArgumentIndex, typename Parameter, typename Argument>
constexpr bool CheckArgument() {
  using P = Parameter;
  using D = std::remove_cvref_t<Argument>;
  if constexpr (!ValidParameter<P>() || IsRefListFor<P, Argument>()) {
    return true;  // a wrong parameter is reported once, by CheckParameter
  } else if constexpr (kIsObjectRef<D>) {
    using U = typename RefValueOf<D>::type;
    if constexpr (std::is_void_v<U>) {
      static_assert(!std::is_void_v<U>,
                    "ray::Remote(f)(args...): the Argument at ArgumentIndex is an "
                    "ObjectRef<void>, which holds no value");
      return false;
    } else if constexpr (ViewParam<P>::kValue) {
      constexpr bool ok = ViewableAs<U, typename ViewParam<P>::Elem>();
      static_assert(ok,
                    "ray::Remote(f)(args...): the Argument at ArgumentIndex is an ObjectRef for a "
                    "view Parameter (ArrayView<E>, span<const E>, string_view), so it must hold "
                    "a std::vector<E> (or a std::string for char)");
      return ok;
    } else {
      constexpr bool ok = std::is_convertible_v<U, P>;
      static_assert(ok,
                    "ray::Remote(f)(args...): the Argument at ArgumentIndex is an ObjectRef whose "
                    "value type does not convert to f's Parameter type");
      return ok;
    }
  } else if constexpr (ViewParam<P>::kValue) {
    using E = typename ViewParam<P>::Elem;
    constexpr bool ok =
        std::is_convertible_v<const D&, std::span<const E>> ||
        (std::is_same_v<E, char> && std::is_convertible_v<const D&, std::string_view>);
    static_assert(ok,
                  "ray::Remote(f)(args...): the Argument at ArgumentIndex does not convert to the "
                  "elements of f's view Parameter (pass a std::vector<E>, a span, an "
                  "ArrayView<E>, or a string for std::string_view)");
    return ok;
  } else {
    constexpr bool ok = std::is_convertible_v<Argument, P>;
    static_assert(ok,
                  "ray::Remote(f)(args...): the Argument at ArgumentIndex does not convert to f's "
                  "Parameter type");
    return ok;
  }
}

// All the checks of the arguments A... of a call of a Function (each one runs, so that every
// wrong argument is reported).
template <typename Function, typename Args, typename Indexes>
struct ArgumentChecks;
template <typename R, typename... P, typename... A, size_t... I>
struct ArgumentChecks<R (*)(P...), std::tuple<A...>, std::index_sequence<I...>> {
  static constexpr bool kOk = (true & ... & CheckArgument<R (*)(P...), I, P, A>());
};

// The inline value for a value argument `a` of parameter P.
template <typename P, typename A>
core::TaskArg ValueArg(A&& a) {
  using D = std::remove_cvref_t<A>;
  core::TaskArg arg;
  if constexpr (ViewParam<P>::kValue) {
    using E = typename ViewParam<P>::Elem;
    if constexpr (std::is_same_v<E, char> && std::is_convertible_v<const D&, std::string_view>) {
      arg.value = Serialize(std::string_view(a));
    } else {
      arg.value = Serialize(std::span<const E>(a));
    }
  } else if constexpr (std::is_same_v<D, std::remove_cvref_t<P>>) {
    arg.value = Serialize(a);
  } else {
    const std::remove_cvref_t<P> converted = std::forward<A>(a);
    arg.value = Serialize(converted);
  }
  return arg;
}

template <typename P, typename A>
void AppendTaskArgs(std::vector<core::TaskArg>& out, A&& a) {
  if constexpr (IsRefListFor<P, A>()) {
    out.push_back(core::TaskArg{ObjectID(), Serialize(static_cast<uint64_t>(a.size()))});
    for (const auto& ref : a) {
      RefAccess::UsableRuntime(ref, "ray::Remote(f)(args...): an ObjectRef in a list argument");
      out.push_back(core::TaskArg{ref.ID(), std::string()});
    }
  } else if constexpr (kIsObjectRef<std::remove_cvref_t<A>>) {
    RefAccess::UsableRuntime(a, "ray::Remote(f)(args...): an ObjectRef argument");
    core::TaskArg arg;
    arg.ref = a.ID();
    out.push_back(std::move(arg));
  } else {
    out.push_back(ValueArg<P>(std::forward<A>(a)));
  }
}

// Throws for argument `index` of `function` that could not be read: the stored error if it is
// an error object, else RayError naming the argument and the function.
[[noreturn]] void ThrowArgumentError(const absl::Status& status, const core::ObjectValue& value,
                                     size_t index, const void* function, const std::string& type);
// RayError: the runtime gave `given` bytes for return value `index`, which needs `needed`.
[[noreturn]] void ThrowShortAllocation(size_t index, size_t given, size_t needed);
// RayError: `given` arguments (or return IDs, when function is null) where `expected` were due.
[[noreturn]] void ThrowArity(const void* function, size_t given, size_t expected);

template <typename S>
ArgHolder<S> ReadArg(const core::ObjectValue& value, size_t index, const void* function);

// Reads the argument that starts at args[*next] (one value, or a RefList's count and values)
// and moves *next past it.
template <typename S>
ArgHolder<S> ReadNextArg(std::span<const core::ObjectValue> args, size_t* next, size_t index,
                         const void* function) {
  if (*next >= args.size()) ThrowArity(function, args.size(), *next + 1);
  if constexpr (IsRefList<S>::kValue) {
    using U = typename IsRefList<S>::Elem;
    uint64_t count = ReadArg<uint64_t>(args[(*next)++], index, function);
    if (count > args.size() - *next) ThrowArity(function, args.size(), *next + count);
    std::vector<U> values;
    values.reserve(count);
    for (uint64_t k = 0; k < count; ++k)
      values.push_back(ReadArg<U>(args[(*next)++], index, function));
    return values;
  } else {
    return ReadArg<S>(args[(*next)++], index, function);
  }
}

template <typename S>
ArgHolder<S> ReadArg(const core::ObjectValue& value, size_t index, const void* function) {
  if constexpr (ArgHolderOf<S>::kView) {
    using E = typename ArgHolderOf<S>::Elem;
    absl::StatusOr<ArrayView<E>> view = DeserializeView<E>(value.bytes, value.owner);
    if (!view.ok()) ThrowArgumentError(view.status(), value, index, function, TypeName<S>());
    return *std::move(view);
  } else {
    absl::StatusOr<S> result = Deserialize<S>(value.bytes);
    if (!result.ok()) ThrowArgumentError(result.status(), value, index, function, TypeName<S>());
    return *std::move(result);
  }
}

// Hands a read argument to parameter P.
template <typename P, typename H>
decltype(auto) PassArg(H& held) {
  using D = std::remove_cvref_t<P>;
  if constexpr (std::is_same_v<D, std::string_view>) {
    return std::string_view(held.data(), held.size());
  } else if constexpr (ViewParam<P>::kValue) {
    if constexpr (std::is_same_v<D, ArrayView<typename ViewParam<P>::Elem>>) {
      return std::move(held);
    } else {
      return held.span();  // std::span<const E>
    }
  } else {
    return std::move(held);
  }
}

// How an invoker writes return values: each in its type's own format (raw or msgpack), or all
// as msgpack (functions that other languages call, RAY_REMOTE in ray/api/ray_remote.h).
enum class ReturnFormat { kNative, kMsgpack };

// Writes return value `index` with the runtime's ReturnWriter.
template <ReturnFormat F = ReturnFormat::kNative, typename V>
void WriteReturn(size_t index, const V& value, core::ReturnWriter& returns) {
  static_assert(!kIsObjectRef<std::remove_cvref_t<V>>,
                "a remote function cannot return an ObjectRef: return the value");
  const auto& serializable = Serializable(value);
  // (Only the format's own functions: msgpack cannot write a vector of RAY_RAW_ELEMENT structs.)
  if constexpr (F == ReturnFormat::kMsgpack) {
    const size_t size = SerializedMsgpackSize(serializable);
    std::span<uint8_t> out = ValueOrThrow(returns.Allocate(index, size));
    if (out.size() < size) ThrowShortAllocation(index, out.size(), size);
    SerializeMsgpackInto(serializable, out);
  } else {
    const size_t size = SerializedSize(serializable);
    std::span<uint8_t> out = ValueOrThrow(returns.Allocate(index, size));
    if (out.size() < size) ThrowShortAllocation(index, out.size(), size);
    SerializeInto(serializable, out);
  }
  std::vector<ObjectID> nested;
  AddNestedRefs(nested, value);
  if (!nested.empty()) ThrowIfError(returns.SetNestedRefs(index, std::move(nested)));
}

// The object of a void function: msgpack nil (also Python's None).
void WriteNone(core::ReturnWriter& returns);

// The invoker of a function pointer type Fn whose arguments are read as S... and whose results
// are written in format F (one instantiation per function type and stored argument types; its
// address names it in every process running the same binary). What the function or the reading
// and writing throws becomes the task's failed status (CurrentExceptionStatus).
template <ReturnFormat F, typename Fn, typename... S>
struct InvokerOf;
template <typename Fn, typename... S>
using Invoker = InvokerOf<ReturnFormat::kNative, Fn, S...>;
template <ReturnFormat F, typename R, typename... P, typename... S>
struct InvokerOf<F, R (*)(P...), S...> {
  static_assert(sizeof...(P) == sizeof...(S));

  static absl::Status Run(const void* function, std::span<const core::ObjectValue> args,
                          core::ReturnWriter& returns) {
    try {
      constexpr bool kHasLists = (IsRefList<S>::kValue || ...);
      if (!kHasLists && args.size() != sizeof...(P)) {
        ThrowArity(function, args.size(), sizeof...(P));
      }
      auto f = reinterpret_cast<R (*)(P...)>(const_cast<void*>(function));
      Call(f, function, args, returns, std::index_sequence_for<P...>{});
      return absl::OkStatus();
    } catch (...) {
      return CurrentExceptionStatus();
    }
  }

 private:
  template <size_t... I>
  static void Call(R (*f)(P...), [[maybe_unused]] const void* function,
                   [[maybe_unused]] std::span<const core::ObjectValue> args,
                   core::ReturnWriter& returns, std::index_sequence<I...>) {
    // Braces: read in order (lists take several), so the first bad argument is the one reported.
    size_t next = 0;
    std::tuple<ArgHolder<S>...> held{ReadNextArg<S>(args, &next, I, function)...};
    if (next != args.size()) ThrowArity(function, args.size(), next);
    if constexpr (std::is_void_v<R>) {
      f(PassArg<P>(std::get<I>(held))...);
      WriteNone(returns);
    } else {
      decltype(auto) result = f(PassArg<P>(std::get<I>(held))...);
      using D = std::remove_cvref_t<R>;
      if constexpr (ReturnsTraits<D>::kIsReturns) {
        WriteAll(result, returns, std::make_index_sequence<ReturnsTraits<D>::kCount>{});
      } else {
        WriteReturn<F>(0, result, returns);
      }
    }
  }

  template <typename T, size_t... K>
  static void WriteAll(const T& result, core::ReturnWriter& returns, std::index_sequence<K...>) {
    (WriteReturn<F>(K, std::get<K>(result), returns), ...);
  }
};

// The ObjectRef type for one return value of type R.
template <typename R>
struct RefTypeOf {
  using type = ObjectRef<ObjectType<R>>;
};
template <>
struct RefTypeOf<void> {
  using type = ObjectRef<void>;
};
template <typename R>
using RefType = typename RefTypeOf<R>::type;

// What a call returns: ObjectRef<R>, or std::tuple<ObjectRef<T>...> for ray::Returns<T...>.
template <typename R>
struct CallResultOf {
  using type = RefType<std::remove_cvref_t<R>>;
  static type Make(const std::vector<ObjectID>& ids) { return type(ids[0], kAdopt); }
};
template <typename... T>
struct CallResultOf<Returns<T...>> {
  using type = std::tuple<RefType<T>...>;
  static type Make(const std::vector<ObjectID>& ids) {
    return Make(ids, std::index_sequence_for<T...>{});
  }
  template <size_t... K>
  static type Make(const std::vector<ObjectID>& ids, std::index_sequence<K...>) {
    return type(RefType<T>(ids[K], kAdopt)...);
  }
};

// Can a task return an R (one result)?
template <typename R>
constexpr bool ValidResult() {
  using D = std::remove_cvref_t<R>;
  if constexpr (std::is_void_v<D>) {
    return true;
  } else {
    return !kIsObjectRef<D> &&
           (!std::is_pointer_v<D> || kIsCharPointer<D>)&&kIsSerializable<ObjectType<D>>;
  }
}

// The checks of result ResultIndex (0 unless Function returns ray::Returns<...>).
template <typename Function, size_t ResultIndex, typename Result>
constexpr bool CheckResult() {
  using D = std::remove_cvref_t<Result>;
  if constexpr (kIsObjectRef<D>) {
    static_assert(!kIsObjectRef<D>,
                  "ray::Remote: f's Result at ResultIndex is an ObjectRef: a remote function "
                  "returns values (call ray::Get inside it, or return the value)");
  } else if constexpr (std::is_pointer_v<D> && !kIsCharPointer<D>) {
    static_assert(!std::is_pointer_v<D>,
                  "ray::Remote: f's Result at ResultIndex is a pointer: return the value (values "
                  "cross processes)");
  } else if constexpr (!std::is_void_v<D>) {
    static_assert(CheckSerializable<ObjectType<D>>());
  }
  return true;
}

// All the checks of the results of a Function that returns R.
template <typename Function, typename R>
struct ResultChecks {
  static constexpr bool kOk = CheckResult<Function, 0, R>();
  static constexpr bool kValid = ValidResult<R>();
};
template <typename Function, typename... T>
struct ResultChecks<Function, Returns<T...>> {
  static_assert((!std::is_void_v<T> && ...), "ray::Returns<...> cannot hold void");
  template <size_t... I>
  static constexpr bool CheckAll(std::index_sequence<I...>) {
    return (CheckResult<Function, I, T>() && ...);
  }
  static constexpr bool kOk = CheckAll(std::index_sequence_for<T...>{});
  static constexpr bool kValid = (ValidResult<T>() && ...);
};

// Checks `options` for a function with `num_returns` return values and converts them. Errors
// name `api` ("": ray::Remote(function)).
core::SubmitOptions CoreOptions(const TaskOptions& options, int num_returns, const void* function,
                                std::string_view api = {});

}  // namespace internal

}  // namespace ray
