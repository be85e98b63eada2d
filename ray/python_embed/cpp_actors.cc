#include "ray/python_embed/cpp_actors.h"

#include <pybind11/stl.h>

#include <string>
#include <utility>
#include <vector>

#include "ray/core_worker/limits.h"
#include "ray/python_embed/actor_functions.h"
#include "ray/python_embed/cross_language.h"
#include "ray/python_embed/py_object_id.h"
#include "ray/python_embed/python_objects.h"

namespace py = pybind11;

namespace ray::python {
namespace {

using core::RegisteredFunction;
using core::RegisteredKind;

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

// The names of the methods registered as "class_name::m" (the m).
std::vector<std::string> MethodsOf(const std::string& class_name) {
  const std::string prefix = class_name + "::";
  std::vector<std::string> names;
  for (const RegisteredFunction* f : LoadedCpp()) {
    const std::string name = f->name;
    if (f->kind == RegisteredKind::kMethod && name.starts_with(prefix)) {
      names.push_back(name.substr(prefix.size()));
    }
  }
  return names;
}

std::string Listed(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

// The factory registered as `factory`, checked to make actors of `class_name` (its C++ type's
// name, or the class its registered methods are named after); returns the C++ type's name.
std::string FactoryClass(const std::string& factory, const std::string& class_name) {
  const std::string call =
      "ray.cpp_actor_class(" + Quoted(factory) + ", " + Quoted(class_name) + ")";
  const RegisteredFunction* f = FindCpp(factory);
  if (f == nullptr)
    RaiseText(PyExc_ValueError,
              NotFoundMessage(call + ": no C++ function named " + Quoted(factory)));
  if (f->kind != RegisteredKind::kActorFactory) {
    RaiseText(PyExc_ValueError, call + ": " + factory +
                                    " is not an actor's factory (RAY_REMOTE it as a function that "
                                    "returns T* or std::unique_ptr<T>)");
  }
  if (class_name == f->actor_type) return f->actor_type;
  for (const RegisteredFunction* m : LoadedCpp()) {
    if (m->kind == RegisteredKind::kMethod && std::string(m->actor_type) == f->actor_type &&
        std::string(m->name).starts_with(class_name + "::")) {
      return f->actor_type;
    }
  }
  RaiseText(PyExc_ValueError, call + ": " + factory + " makes a " + f->actor_type + ", not a " +
                                  class_name + " (none of " + class_name +
                                  "'s registered methods is one of " + f->actor_type + ")");
}

// The method `method` of an actor of `class_name` (whose C++ type's name is `actor_type`).
const RegisteredFunction& Method(const std::string& class_name, const std::string& actor_type,
                                 const std::string& method) {
  const std::string name = class_name + "::" + method;
  const RegisteredFunction* f = FindCpp(name);
  if (f == nullptr || f->kind != RegisteredKind::kMethod) {
    RaiseText(PyExc_AttributeError,
              "C++ actor class " + class_name + " has no method " + Quoted(method) +
                  " registered as " + Quoted(name) + " (RAY_REMOTE(&" + name +
                  ")); its registered methods: " + Listed(MethodsOf(class_name)));
  }
  if (f->actor_type != actor_type) {
    RaiseText(PyExc_AttributeError,
              name + " is a method of " + f->actor_type + ", but the actor is a " + actor_type);
  }
  return *f;
}

py::object SubmitActor(const std::string& factory, const py::list& args,
                       const ActorCreation& creation, const py::list& nested,
                       ResourceAmounts resources) {
  const RegisteredFunction* f = FindCpp(factory);
  if (f == nullptr || f->kind != RegisteredKind::kActorFactory) {
    RaiseText(PyExc_ValueError, "no actor's factory named " + Quoted(factory));
  }
  return SubmitRegistered(*f, "ray.cpp_actor_class(" + Quoted(factory) + ", ...)",
                          {.num_returns = 1,
                           .num_cpus = std::get<3>(creation),
                           .max_retries = 0,
                           .name = factory,
                           .resources = std::move(resources)},
                          args, nested, [&creation](core::TaskSpec& spec) {
                            spec.creates_actor = ToActorOptions(creation);
                          });
}

py::object SubmitMethod(const std::string& class_name, const std::string& actor_type,
                        const std::string& method, const PyObjectID& actor, const py::list& args,
                        const py::list& nested) {
  const RegisteredFunction& f = Method(class_name, actor_type, method);
  std::string name = class_name + "::" + method;  // as registered
  return SubmitRegistered(f, "C++ actor method " + name,
                          {.num_returns = static_cast<int>(f.num_returns),
                           .num_cpus = 0,
                           .max_retries = 0,
                           .name = name},
                          args, nested,
                          [&actor](core::TaskSpec& spec) { spec.actor = actor.id(); });
}

}  // namespace

void RegisterCppActors(py::module_& m) {
  // The C++ type's name of the actors `factory` makes, checked against `class_name`.
  m.def("cpp_actor_factory", &FactoryClass, py::arg("factory"), py::arg("class_name"));
  // The number of results of method `method` of `class_name`; AttributeError if it has none.
  m.def(
      "cpp_actor_method",
      [](const std::string& class_name, const std::string& actor_type, const std::string& method) {
        return Method(class_name, actor_type, method).num_returns;
      },
      py::arg("class_name"), py::arg("actor_type"), py::arg("method"));
  m.def("submit_cpp_actor", &SubmitActor, py::arg("factory"), py::arg("args"), py::arg("creation"),
        py::arg("nested") = py::list(), py::arg("resources") = ResourceAmounts());
  m.def("submit_cpp_method", &SubmitMethod, py::arg("class_name"), py::arg("actor_type"),
        py::arg("method"), py::arg("actor"), py::arg("args"), py::arg("nested") = py::list());
}

}  // namespace ray::python
