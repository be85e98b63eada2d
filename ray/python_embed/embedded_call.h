// What a call into the embedded interpreter does, shared by ray::PyFunction tasks
// (embedded_python.cc) and Python actors made from C++ (embedded_actor.cc): starting the
// interpreter, calling a Python callable on task arguments, and writing its results. Private to
// the embedded_python library (it includes Python.h, which the public API does not).
#pragma once

#include <Python.h>

#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/object/status.h"
#include "ray/python_embed/embedded_python.h"

namespace ray::python::embedded {

// Starts the interpreter on this process's first call (later calls return at once); why it
// could not start, or "".
const std::string& StartInterpreterOnce();
// StartInterpreterOnce's failure as an error of the call `name`; nullopt once it runs.
std::optional<TaskErrorInfo> StartError(const std::string& name);
// The (module, name) a call's first argument names (SerializePyCall); InvalidArgument saying
// `what` it does not name.
absl::StatusOr<std::pair<std::string, std::string>> ReadPyCall(
    std::span<const core::ObjectValue> args, const std::string& what);

// An error of the Python code `name`, of Python type `type`.
TaskErrorInfo Error(const std::string& name, std::string type, std::string message);
// The pending Python exception as an error of `name`, its message after `context`; clears it.
TaskErrorInfo PythonError(const std::string& name, const std::string& context);
// Flushes sys.stdout and sys.stderr (workers end without Python's finalization).
void FlushOutput();

// Calls `callable(args...)`, each argument an object converted to Python: its result (a new
// reference), or null with *error set. A coroutine it returns (an `async def`) runs to completion
// on an event loop of the calling thread, kept for its later coroutines; its result is the
// result. The GIL held (the loop lets go of it while it waits).
PyObject* CallWithObjects(const std::string& name, PyObject* callable,
                          std::span<const core::ObjectValue> args,
                          std::optional<TaskErrorInfo>* error);

// CallWithObjects, then converts the result to objects, one per check (several from a returned
// tuple or list; msgpack nil where the check is null). The GIL held.
std::optional<TaskErrorInfo> CallAndConvert(const std::string& name, PyObject* callable,
                                            std::span<const core::ObjectValue> args,
                                            std::span<const ResultCheck> checks,
                                            std::vector<std::string>* results);

// Checks each result against its check and writes it as return value i.
absl::Status WriteResults(const std::string& name, std::span<const ResultCheck> checks,
                          const std::vector<std::string>& results, core::ReturnWriter& returns);

}  // namespace ray::python::embedded
