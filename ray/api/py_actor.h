// ray::PyActorClass: a Python class as an actor of a C++ program. Bazel target //ray:python (as
// ray::PyFunction, ray/api/py_function.h), include "ray/api/py_actor.h" beside "ray/api.h".
//
//   ray::ActorHandle<ray::PyActor> c = ray::PyActorClass("mymodule", "Counter").Remote(10);
//   ray::ObjectRef<int> r = c.Task(ray::PyActorMethod<int>("add")).Remote(5);
//   int v = r.Get();
//   c.Kill();
//
// The creation runs mymodule.Counter(10) in the actor's worker, in the interpreter it embeds
// (ray/python_embed/embedded_actor.h; the module is found on sys.path as for PyFunction), and
// the instance serves the actor's calls there: c.Task(ray::PyActorMethod<R>("add")) calls its
// method `add`. Arguments and results are msgpack values as for ray::PyFunction: R is what the
// method returns as C++ reads it (void, a value, ray::Returns<T...>), checked when the call ends.
// The handle is an ActorHandle like a C++ actor's: copy it, pass it to tasks and other actors,
// Kill() it; options, ordering, restarts and the actor's end are those of ray::Actor
// (ray/api/actor.h). The instance's last reference goes when the actor ends.
//
// Errors, from Get: a creation that failed (no such module or class, the constructor raised) fails
// the actor's calls with ray::ActorDiedError, whose message carries the Python error's type and
// message (its traceback: the TaskError of ray::ObjectRef<std::string>(c.ID()).Get()); a call's
// own failure is a ray::TaskError with the Python exception's type (AttributeError for a method
// the class lacks, TypeError for a result that does not read as R), named "mymodule.Counter.add",
// and the actor keeps running.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ray/api/actor.h"
#include "ray/api/py_function.h"
#include "ray/python_embed/embedded_actor.h"

namespace ray {

// The class of a Python actor's handle in C++: ActorHandle<PyActor>. It has no C++ methods; its
// Python methods are called by name (PyActorMethod).
struct PyActor {};

// A Python actor's method by name, and what it returns as C++ reads it (as PyFunction<R>).
template <typename R>
class PyActorMethod {
  static_assert(internal::ResultChecks<PyActorMethod<R>, std::remove_cvref_t<R>>::kOk);

 public:
  explicit PyActorMethod(std::string name) : name_(std::move(name)) {}
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

namespace internal {

// The invoker of a Python actor's creation.
inline absl::Status RunPyActorCreation(const void* /*function*/,
                                       std::span<const core::ObjectValue> args,
                                       core::ReturnWriter& returns) {
  try {
    const ObjectID actor = ObjectID::ForReturn(Runtime("an actor's creation").CurrentTaskId(), 1);
    absl::Status made = python::CreatePyActor(args, TypeName<PyActor>(), actor);
    if (!made.ok()) return made;
    WriteReturn(0, TypeName<PyActor>(), returns);
    return absl::OkStatus();
  } catch (...) {
    return CurrentExceptionStatus();
  }
}

// The invoker of every call of a Python actor's method returning R.
template <typename R>
struct PyActorMethodInvoker {
  static absl::Status Run(const void* /*function*/, std::span<const core::ObjectValue> args,
                          core::ReturnWriter& returns) {
    return python::RunPyActorMethod(args, TypeName<PyActor>(), PyResultChecks<R>::kChecks, returns);
  }
};

}  // namespace internal

// handle.Task(ray::PyActorMethod<R>("m")): a call to make with Remote(args...).
template <typename R>
class PyActorCall {
 public:
  using Result = typename internal::CallResultOf<std::remove_cvref_t<R>>::type;
  static constexpr size_t kNumReturns = internal::ReturnsTraits<std::remove_cvref_t<R>>::kCount;

  PyActorCall(const ObjectRef<std::string>& actor, const PyActorMethod<R>& method)
      : actor_(actor), method_(method) {}

  // Submits the call; returns its ObjectRef(s) at once. Arguments as for ray::PyFunction. Throws
  // ray::RayError before ray::Init, for an empty method name or a nil or stale ObjectRef argument.
  template <typename... A>
  Result Remote(A&&... args) const {
    core::CoreRuntime& runtime = internal::Runtime("handle.Task(ray::PyActorMethod(...)).Remote");
    if (method_.name().empty()) throw RayError("ray::PyActorMethod: the method needs a name");
    if (actor_.ID().IsNil()) throw RayError("ray::PyActorMethod: a call on an empty ActorHandle");
    core::TaskSpec spec;
    spec.invoker = &internal::PyActorMethodInvoker<std::remove_cvref_t<R>>::Run;
    spec.function = FunctionAddress(&RayPyActorTask);
    spec.options =
        internal::CoreOptions(TaskOptions{.name = method_.name()}, kNumReturns, spec.function);
    spec.actor = actor_.ID();
    return internal::CallResultOf<std::remove_cvref_t<R>>::Make(internal::SubmitPyCall(
        runtime, std::move(spec), python::SerializePyMethod(method_.name()),
        "handle.Task(ray::PyActorMethod(...)).Remote", kNumReturns, std::forward<A>(args)...));
  }

 private:
  ObjectRef<std::string> actor_;
  PyActorMethod<R> method_;
};

// Makes actors of a Python class: ray::PyActorClass("module", "Class").Remote(args...).
class PyActorClass {
 public:
  PyActorClass(std::string module, std::string cls, ActorOptions options = {})
      : module_(std::move(module)), class_(std::move(cls)), options_(std::move(options)) {}

  // A copy with these options (those of ray::Actor(f).Options).
  PyActorClass Options(const ActorOptions& options) const {
    return PyActorClass(module_, class_, options);
  }

  // Submits the creation of module.Class(args...); returns the handle at once (calls wait for
  // the actor). Arguments as for ray::PyFunction. Throws ray::RayError before ray::Init, for
  // empty names, invalid options, or a nil or stale ObjectRef argument.
  template <typename... A>
  ActorHandle<PyActor> Remote(A&&... args) const {
    core::CoreRuntime& runtime = internal::Runtime("ray::PyActorClass(...).Remote(args...)");
    if (module_.empty() || class_.empty()) {
      throw RayError("ray::PyActorClass(\"" + module_ + "\", \"" + class_ +
                     "\"): the module and the class need names");
    }
    core::TaskSpec spec = internal::ActorCreationSpec(
        runtime, options_, FunctionAddress(&RayPyActorTask), TypeName<PyActor>(),
        module_ + "." + class_, "ray::PyActorClass(\"" + module_ + "\", \"" + class_ + "\")");
    spec.invoker = &internal::RunPyActorCreation;
    std::vector<ObjectID> ids = internal::SubmitPyCall(
        runtime, std::move(spec), python::SerializePyCall(module_, class_),
        "ray::PyActorClass(...).Remote(args...)", 1, std::forward<A>(args)...);
    return ActorHandle<PyActor>(ObjectRef<std::string>(ids[0], internal::kAdopt));
  }

  const std::string& module() const { return module_; }
  const std::string& class_name() const { return class_; }
  const ActorOptions& options() const { return options_; }

 private:
  std::string module_;
  std::string class_;
  ActorOptions options_;
};

}  // namespace ray
