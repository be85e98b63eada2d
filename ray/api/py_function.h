// ray::PyFunction: a Python function called from C++ as a task. Bazel target //ray:python (it
// links libpython; //ray does not), include "ray/api/py_function.h" beside "ray/api.h".
//
//   ray::ObjectRef<int> x = ray::PyFunction<int>("mymodule", "add")(1, 2);
//   int three = x.Get();
//   auto f = ray::PyFunction<std::vector<double>>("mymodule", "scale").Options({.num_cpus = 2});
//   std::vector<double> v = f(std::vector<double>{1, 2}, 3.0).Get();
//
// The task runs mymodule.add in a worker, in an interpreter the worker embeds (started on its
// first Python call: ray/python_embed/embedded_python.h). The module is found on sys.path: the
// working directory, PYTHONPATH (set it before ray::Init: workers inherit the environment, and
// workers on other nodes of a cluster get it with each entry made absolute) and the site
// packages.
//
// Arguments are values that msgpack packs (numbers, bool, strings, std::vector, std::map,
// std::optional, RAY_SERIALIZABLE structs as lists, ...) or ObjectRef<U>s; Python receives them
// as None, bool, int, float, str, bytes, list and dict (ray/python_embed/object_python.h). The
// function's result is converted to msgpack and must read as R, else the task fails with a
// TypeError. R = void ignores the result; R = ray::Returns<T...> takes a tuple of as many values.
//
// Errors, from Get: ray::TaskError with the Python exception's type ("ValueError",
// "mymodule.MyError"), message and traceback (info().traceback), named "mymodule.add";
// ModuleNotFoundError / AttributeError for a missing module or function.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "ray/api/internal/serialization.h"
#include "ray/api/object_ref.h"
#include "ray/api/options.h"
#include "ray/api/remote.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/python_embed/embedded_python.h"

namespace ray {

namespace internal {

template <typename T>
absl::Status CheckPyResult(std::span<const uint8_t> object) {
  return Deserialize<T>(object).status();
}

// One check per return value (null for void).
template <typename R>
struct PyResultChecks {
  static constexpr python::ResultCheck kChecks[] = {&CheckPyResult<ObjectType<R>>};
};
template <>
struct PyResultChecks<void> {
  static constexpr python::ResultCheck kChecks[] = {nullptr};
};
template <typename... T>
struct PyResultChecks<Returns<T...>> {
  static constexpr python::ResultCheck kChecks[] = {&CheckPyResult<ObjectType<T>>...};
};

// The invoker of every ray::PyFunction<R> task.
template <typename R>
struct PyInvoker {
  static absl::Status Run(const void* /*function*/, std::span<const core::ObjectValue> args,
                          core::ReturnWriter& returns) {
    return python::RunPyFunction(args, PyResultChecks<R>::kChecks, returns);
  }
};

// An argument of a call of Python (`api` names the call in errors), added to `spec`: the objects
// a value references (an ActorHandle's) are held until the call ends, as for C++ calls.
template <typename A>
void AppendPyArg(core::TaskSpec& spec, A&& a, std::string_view api) {
  using D = std::remove_cvref_t<A>;
  if constexpr (kIsObjectRef<D>) {
    static_assert(!std::is_same_v<D, ObjectRef<void>>,
                  "an argument of a Python function or method: an ObjectRef<void> holds no value");
    RefAccess::UsableRuntime(a, std::string(api) + ": an ObjectRef argument");
    spec.args.push_back(core::TaskArg{a.ID(), std::string()});
  } else if constexpr (std::is_convertible_v<const D&, std::string_view>) {
    spec.args.push_back(core::TaskArg{ObjectID(), SerializeMsgpack(std::string_view(a))});
  } else if constexpr (kIsSerializable<D>) {
    spec.args.push_back(core::TaskArg{ObjectID(), SerializeMsgpack(a)});
    AddNestedRefs(spec.nested_refs, a);
  } else {
    static_assert(CheckSerializable<D>());
  }
}

// Submits `spec`, a call of Python: its first argument `first` (what to call), then `args`
// (`api` names the call in errors). Its returns' IDs, `count` of them.
template <typename... A>
std::vector<ObjectID> SubmitPyCall(core::CoreRuntime& runtime, core::TaskSpec spec,
                                   std::string first, [[maybe_unused]] std::string_view api,
                                   size_t count, A&&... args) {
  spec.args.reserve(1 + sizeof...(A));
  spec.args.push_back(core::TaskArg{ObjectID(), std::move(first)});
  (AppendPyArg(spec, std::forward<A>(args), api), ...);
  std::vector<ObjectID> ids = ValueOrThrow(runtime.Submit(std::move(spec)));
  if (ids.size() != count) ThrowArity(nullptr, ids.size(), count);
  return ids;
}

}  // namespace internal

// A Python function that can be called as a task; cheap to copy. R is what the function
// returns, as C++ reads it (see the top of this file).
template <typename R>
class PyFunction {
  static_assert(internal::ResultChecks<PyFunction<R>, std::remove_cvref_t<R>>::kOk);

 public:
  using Result = typename internal::CallResultOf<std::remove_cvref_t<R>>::type;
  static constexpr size_t kNumReturns = internal::ReturnsTraits<std::remove_cvref_t<R>>::kCount;

  PyFunction(std::string module, std::string function, TaskOptions options = {})
      : module_(std::move(module)), function_(std::move(function)), options_(options) {}

  // A copy with other options (num_returns must be 0 or kNumReturns).
  PyFunction Options(const TaskOptions& options) const {
    return PyFunction(module_, function_, options);
  }

  // Submits module.function(args...) as a task; returns its ObjectRef(s) at once. Throws
  // ray::RayError before ray::Init, for an empty name, a nil or stale ObjectRef argument, or
  // invalid options.
  template <typename... A>
  Result operator()(A&&... args) const {
    if constexpr (!internal::ResultChecks<PyFunction<R>, std::remove_cvref_t<R>>::kValid) {
      throw RayError("unreachable");  // after the class's failed static_assert
    } else {
      core::CoreRuntime& runtime = internal::Runtime("ray::PyFunction(...)(args...)");
      if (module_.empty() || function_.empty()) {
        throw RayError("ray::PyFunction(\"" + module_ + "\", \"" + function_ +
                       "\"): the module and the function need names");
      }
      core::TaskSpec spec;
      spec.invoker = &internal::PyInvoker<std::remove_cvref_t<R>>::Run;
      spec.function = FunctionAddress(&RayPyFunctionTask);
      spec.options = internal::CoreOptions(options_, kNumReturns, spec.function);
      if (spec.options.name.empty()) spec.options.name = module_ + "." + function_;  // the graph's
      return internal::CallResultOf<std::remove_cvref_t<R>>::Make(internal::SubmitPyCall(
          runtime, std::move(spec), python::SerializePyCall(module_, function_),
          "ray::PyFunction(...)(args...)", kNumReturns, std::forward<A>(args)...));
    }
  }

  // Same as operator().
  template <typename... A>
  Result Remote(A&&... args) const {
    return (*this)(std::forward<A>(args)...);
  }

  const std::string& module() const { return module_; }
  const std::string& function() const { return function_; }
  const TaskOptions& options() const { return options_; }

 private:
  std::string module_;
  std::string function_;
  TaskOptions options_;
};

}  // namespace ray
