#include "ray/python_embed/embedded_python.h"

#include <Python.h>
#include <limits.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "ray/object/msgpack_object.h"
#include "ray/object/object_format.h"
#include "ray/python_embed/embedded_call.h"
#include "ray/python_embed/msgpack_python.h"
#include "ray/python_embed/object_python.h"
#include "ray/python_embed/py_ref.h"
#include "ray/python_embed/py_text.h"

extern "C" __attribute__((noinline, used, visibility("default"))) void RayPyFunctionTask() {
  asm volatile("");
}

namespace ray::python {
namespace embedded {
namespace {

// Why the interpreter could not start ("" if it did). Written once, under std::call_once.
std::string* start_error = nullptr;

std::string ExecutablePath() {
  char path[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  return n > 0 ? std::string(path, n) : std::string();
}

void StartInterpreter() {
  start_error = new std::string;   // leaked: read until the process exits
  if (Py_IsInitialized()) return;  // the program's own; it manages the GIL
  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  config.install_signal_handlers = 0;
  // The program as the executable: Python then takes its prefix from where libpython was
  // built, not from the first python3 on PATH (which may be another interpreter).
  PyStatus status =
      PyConfig_SetBytesString(&config, &config.program_name, ExecutablePath().c_str());
  if (!PyStatus_Exception(status)) status = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  if (PyStatus_Exception(status)) {
    *start_error = status.err_msg != nullptr ? status.err_msg : "Py_InitializeFromConfig failed";
    return;
  }
  // As for `python3 -c`: the working directory first on sys.path.
  char cwd[PATH_MAX];
  PyObject* path = PySys_GetObject("path");  // borrowed
  if (getcwd(cwd, sizeof(cwd)) != nullptr && path != nullptr && PyList_Check(path)) {
    PyRef dir(PyUnicode_DecodeFSDefault(cwd));
    if (!dir || PyList_Insert(path, 0, dir.get()) != 0) PyErr_Clear();
  }
  PyEval_SaveThread();  // each call takes the GIL (PyGILState_Ensure)
}

}  // namespace

const std::string& StartInterpreterOnce() {
  static std::once_flag started;
  std::call_once(started, StartInterpreter);
  return *start_error;
}

TaskErrorInfo Error(const std::string& function, std::string type, std::string message) {
  return TaskErrorInfo{.function_name = function,
                       .exception_type = std::move(type),
                       .message = std::move(message),
                       .pid = getpid()};
}

TaskErrorInfo PythonError(const std::string& function, const std::string& context) {
  PyObject* type = nullptr;
  PyObject* value = nullptr;
  PyObject* traceback = nullptr;
  PyErr_Fetch(&type, &value, &traceback);
  PyErr_NormalizeException(&type, &value, &traceback);
  PyRef type_ref(type), value_ref(value), traceback_ref(traceback);
  if (value == nullptr) return Error(function, "SystemError", context + "unknown Python error");
  if (traceback != nullptr) PyException_SetTraceback(value, traceback);
  TaskErrorInfo info = Error(function, PythonTypeName(value), context + StrUtf8(value));
  PyRef module(PyImport_ImportModule("traceback"));
  PyRef lines(module ? PyObject_CallMethod(module.get(), "format_exception", "OOO", type, value,
                                           traceback != nullptr ? traceback : Py_None)
                     : nullptr);
  PyRef empty(PyUnicode_FromString(""));
  PyRef joined(lines && empty ? PyUnicode_Join(empty.get(), lines.get()) : nullptr);
  info.traceback = StrUtf8(joined.get());
  PyErr_Clear();
  return info;
}

void FlushOutput() {
  for (const char* name : {"stdout", "stderr"}) {
    PyObject* stream = PySys_GetObject(name);  // borrowed
    if (stream != nullptr && stream != Py_None) {
      PyRef result(PyObject_CallMethod(stream, "flush", nullptr));
    }
  }
  PyErr_Clear();
}

namespace {

// The calling thread's asyncio event loop, made at its first coroutine and kept while the
// process lives (what coroutines leave bound to it stays usable); null on error. The GIL held.
PyObject* ThreadLoop() {
  thread_local PyObject* loop = nullptr;
  if (loop == nullptr) {
    PyRef asyncio(PyImport_ImportModule("asyncio"));
    loop = asyncio ? PyObject_CallMethod(asyncio.get(), "new_event_loop", nullptr) : nullptr;
  }
  return loop;
}

// `result` (owned); a coroutine (an `async def`'s) run to completion on the thread's loop and
// what it returned instead. Null with the Python error set if it raised.
PyObject* Awaited(PyObject* result) {
  if (result == nullptr || !PyCoro_CheckExact(result)) return result;
  PyRef coroutine(result);
  PyObject* loop = ThreadLoop();
  if (loop == nullptr) {
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyRef closed(PyObject_CallMethod(coroutine.get(), "close", nullptr));  // not "never awaited"
    PyErr_Restore(type, value, traceback);
    return nullptr;
  }
  return PyObject_CallMethod(loop, "run_until_complete", "O", coroutine.get());
}

}  // namespace

PyObject* CallWithObjects(const std::string& name, PyObject* callable,
                          std::span<const core::ObjectValue> args,
                          std::optional<TaskErrorInfo>* error) {
  PyRef call_args(PyTuple_New(static_cast<Py_ssize_t>(args.size())));
  if (!call_args) {
    *error = PythonError(name, "");
    return nullptr;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    PyObject* arg = ObjectToPython(args[i].bytes);
    if (arg == nullptr) {
      *error = PythonError(name, "argument " + std::to_string(i) + ": ");
      return nullptr;
    }
    PyTuple_SET_ITEM(call_args.get(), static_cast<Py_ssize_t>(i), arg);  // steals arg
  }
  PyObject* result = Awaited(PyObject_Call(callable, call_args.get(), nullptr));
  if (result == nullptr) *error = PythonError(name, "");
  return result;
}

std::optional<TaskErrorInfo> CallAndConvert(const std::string& name, PyObject* callable,
                                            std::span<const core::ObjectValue> args,
                                            std::span<const ResultCheck> checks,
                                            std::vector<std::string>* results) {
  const size_t num_results = checks.size();
  std::optional<TaskErrorInfo> error;
  PyRef result(CallWithObjects(name, callable, args, &error));
  if (!result) return error;
  std::vector<PyObject*> values{result.get()};  // borrowed
  PyRef tuple;
  if (num_results > 1) {
    if (PyTuple_Check(result.get()) || PyList_Check(result.get())) {
      tuple = PyRef(PySequence_Tuple(result.get()));
    }
    if (!tuple || PyTuple_GET_SIZE(tuple.get()) != static_cast<Py_ssize_t>(num_results)) {
      PyErr_Clear();
      return Error(name, "TypeError",
                   "returned a " + PythonTypeName(result.get()) + ", but the caller expects a " +
                       "tuple of " + std::to_string(num_results) + " values (ray::Returns)");
    }
    values.clear();
    for (size_t i = 0; i < num_results; ++i) values.push_back(PyTuple_GET_ITEM(tuple.get(), i));
  }
  results->resize(num_results);
  for (size_t i = 0; i < num_results; ++i) {
    if (checks[i] == nullptr) {
      (*results)[i] = SerializeMsgpack(msgpack::type::nil_t());
    } else if (!PythonToObject(values[i], &(*results)[i])) {
      return PythonError(name, num_results > 1 ? "result " + std::to_string(i) + ": " : "result: ");
    }
  }
  return std::nullopt;
}

absl::Status WriteResults(const std::string& name, std::span<const ResultCheck> checks,
                          const std::vector<std::string>& results, core::ReturnWriter& returns) {
  for (size_t i = 0; i < checks.size(); ++i) {
    const std::string& object = results[i];
    if (checks[i] != nullptr) {
      if (absl::Status s = checks[i](AsBytes(object)); !s.ok()) {
        return TaskFailure(
            Error(name, "TypeError",
                  (checks.size() > 1 ? "result " + std::to_string(i) : "the result") +
                      " does not convert to the C++ type the caller expects: " +
                      std::string(s.message())));
      }
    }
    absl::StatusOr<std::span<uint8_t>> out = returns.Allocate(i, object.size());
    if (!out.ok()) return out.status();
    if (out->size() < object.size()) return absl::InternalError(name + ": short allocation");
    std::memcpy(out->data(), object.data(), object.size());
  }
  return absl::OkStatus();
}

}  // namespace embedded

namespace {

using embedded::Error;
using embedded::PythonError;

// Calls module.function(args...); the GIL held.
std::optional<TaskErrorInfo> CallFunction(const std::string& module_name,
                                          const std::string& function_name,
                                          std::span<const core::ObjectValue> args,
                                          std::span<const ResultCheck> checks,
                                          std::vector<std::string>* results) {
  const std::string name = module_name + "." + function_name;
  PyRef module(PyImport_ImportModule(module_name.c_str()));
  if (!module) return PythonError(name, "");
  PyRef function(PyObject_GetAttrString(module.get(), function_name.c_str()));
  if (!function) return PythonError(name, "");
  if (!PyCallable_Check(function.get())) {
    return Error(name, "TypeError",
                 name + " is not callable (it is a " + PythonTypeName(function.get()) + ")");
  }
  return embedded::CallAndConvert(name, function.get(), args, checks, results);
}

}  // namespace

std::string SerializePyCall(std::string_view module, std::string_view function) {
  return SerializeMsgpack(std::pair<std::string_view, std::string_view>(module, function));
}

namespace embedded {

std::optional<TaskErrorInfo> StartError(const std::string& name) {
  const std::string& start_error = StartInterpreterOnce();
  if (start_error.empty()) return std::nullopt;
  return Error(name, "RuntimeError",
               "cannot start the embedded Python interpreter: " + start_error);
}

absl::StatusOr<std::pair<std::string, std::string>> ReadPyCall(
    std::span<const core::ObjectValue> args, const std::string& what) {
  absl::StatusOr<std::pair<std::string, std::string>> call =
      args.empty() ? absl::InvalidArgumentError("no arguments")
                   : DeserializeMsgpack<std::pair<std::string, std::string>>(args[0].bytes);
  if (!call.ok()) {
    return absl::InvalidArgumentError(what + std::string(call.status().message()));
  }
  return call;
}

}  // namespace embedded

absl::Status RunPyFunction(std::span<const core::ObjectValue> args,
                           std::span<const ResultCheck> checks, core::ReturnWriter& returns) {
  absl::StatusOr<std::pair<std::string, std::string>> call =
      embedded::ReadPyCall(args, "ray::PyFunction: the task does not name a Python function: ");
  if (!call.ok()) return call.status();
  const auto& [module, function] = *call;
  const std::string name = module + "." + function;
  if (std::optional<TaskErrorInfo> error = embedded::StartError(name)) return TaskFailure(*error);
  std::vector<std::string> results;
  std::optional<TaskErrorInfo> error;
  {
    PyGILState_STATE gil = PyGILState_Ensure();
    error = CallFunction(module, function, args.subspan(1), checks, &results);
    embedded::FlushOutput();
    PyGILState_Release(gil);
  }
  if (error) return TaskFailure(*error);
  return embedded::WriteResults(name, checks, results, returns);
}

}  // namespace ray::python
