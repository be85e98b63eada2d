// The Python interpreter inside a C++ program's workers, for ray::PyFunction
// (ray/api/py_function.h): started once per process, on its first Python call, then each call
// takes the GIL, imports the module, converts the arguments (object_python.h), calls the
// function and converts its result back to a msgpack object.
//
// The interpreter is libpython as the system built it, set up as `python3 -c` would be: the
// standard library and site packages from libpython's prefix, PYTHONPATH, and the working
// directory first on sys.path. It runs without signal handlers, and holds the GIL only during
// calls. If the program started an interpreter itself, that one is used as it is.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "ray/core_worker/core_runtime.h"

// Names every ray::PyFunction task (TaskSpec.function; resolved in workers like any function).
extern "C" void RayPyFunctionTask();

namespace ray::python {

// Checks that a result object reads as the C++ type the caller expects (Deserialize<T>); null
// when the caller takes no value (void).
using ResultCheck = absl::Status (*)(std::span<const uint8_t> object);

// The first argument of a ray::PyFunction task: the module and the function to call.
std::string SerializePyCall(std::string_view module, std::string_view function);

// Runs a ray::PyFunction task (its invoker's body): args[0] is SerializePyCall's object, the
// rest the positional arguments; writes one result per check (several from a returned tuple or
// list). Returns a task failure (TaskFailure, ray/object/status.h) named "module.function" for
// a Python exception (its type, message and traceback; also ModuleNotFoundError and
// AttributeError for a missing module or function), an argument or result Python or msgpack
// cannot convert, or a result that fails its check (TypeError); the store's error when a
// result does not fit. The process stays usable after any of them.
absl::Status RunPyFunction(std::span<const core::ObjectValue> args,
                           std::span<const ResultCheck> checks, core::ReturnWriter& returns);

}  // namespace ray::python
