// The extension's side of calls from Python to C++ (ray.cpp_function, python/ray/
// cross_language.py): loading users' shared libraries, submitting their RAY_REMOTE functions
// (ray/api/ray_remote.h) with arguments converted to msgpack, and reading the objects C++ writes
// as Python values (object_python.h).
//
// A library is opened with dlopen(RTLD_NOW | RTLD_LOCAL) before ray.init forks the zygote, so
// every worker has it mapped at the same address, and stays loaded for the life of the process.
// It carries its own copy of libray: its table of functions is read through the C function it
// exports (ray/core_worker/function_registry.h), and its invokers run in workers beside this
// module's copy. Such a function cannot use the ray API itself (its copy of libray has no runtime).
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ray/common/id.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/core_worker/function_registry.h"

namespace ray::python {

// What cross_language.cc needs of python_extension.cc's Python types.
struct RayletAccess {
  // The ID of an ObjectID; nullopt for any other Python object.
  std::function<std::optional<ObjectID>(pybind11::handle)> object_id;
  // The object (header included) of an ObjectBuffer.
  std::function<std::span<const uint8_t>(pybind11::handle)> object_bytes;
  // Submits a task (releasing the GIL in the driver); the list of its ObjectIDs.
  std::function<pybind11::object(core::TaskSpec)> submit;
};

// Adds load_libraries, cpp_libraries, submit_cpp and object_to_python to the module, and the
// functions of C++ actors (cpp_actors.h).
void RegisterCrossLanguage(pybind11::module_& m, RayletAccess raylet);

// For the calls of C++ actors (cpp_actors.h), once RegisterCrossLanguage ran:
// The entry registered as `name` in the loaded libraries, or null; all of them.
const core::RegisteredFunction* FindCpp(const std::string& name);
std::vector<const core::RegisteredFunction*> LoadedCpp();
// `what`, followed by the loaded libraries and their names (or a hint when there are none).
std::string NotFoundMessage(const std::string& what);
// Appends the arguments of `call` to the task (ObjectIDs as references, other values as
// msgpack), and the ObjectIDs in `nested` (those the values name: actors' handles) to the ones
// it keeps alive; raises a TypeError (or the conversion's ValueError, OverflowError) naming the
// call and the argument.
void AppendCppArgs(const std::string& call, const pybind11::list& args,
                   const pybind11::list& nested, core::TaskSpec* spec);
// Submits a call (named `call` in errors) of the registered `f` with `options` (checked) and
// `args` (their count checked, as AppendCppArgs): the list of its ObjectIDs. `prepare` adds what
// the spec needs beyond (an actor's creation or call).
pybind11::object SubmitRegistered(const core::RegisteredFunction& f, const std::string& call,
                                  core::SubmitOptions options, const pybind11::list& args,
                                  const pybind11::list& nested,
                                  const std::function<void(core::TaskSpec&)>& prepare = nullptr);

}  // namespace ray::python
