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

#include "ray/common/id.h"
#include "ray/core_worker/core_runtime.h"

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

// Adds load_libraries, cpp_function_info, submit_cpp and object_to_python to the module.
void RegisterCrossLanguage(pybind11::module_& m, RayletAccess raylet);

}  // namespace ray::python
