// The interpreter in a worker process: the fix-ups a fork of the driver needs before it runs
// Python, and the GIL when the worker's actor runs calls on threads of their own
// (ray/core_worker/call_threads.h): the main thread, which holds the GIL for good otherwise, lets
// go of it while they run, and each call thread takes it for its call (InvokePython).
#pragma once

#include <Python.h>
#include <pybind11/pybind11.h>

#include <optional>

namespace ray::python {

// At module init, in the interpreter's own process: notes it, and sets the call thread hooks.
void SetUpInterpreterForWorkers();
// In a fork of that process, on the thread that held the GIL when the zygote was forked: the
// interpreter's own after-fork fix-ups (once per process; nothing in the interpreter's own).
void TakeInterpreterAfterFork();

// The GIL while a task runs (InvokePython): taken as any thread takes it, except on a call
// thread, which keeps its thread state from one call to the next (made once, not per call).
class TaskGil {
 public:
  TaskGil();
  ~TaskGil();
  TaskGil(const TaskGil&) = delete;
  TaskGil& operator=(const TaskGil&) = delete;

 private:
  std::optional<pybind11::gil_scoped_acquire> plain_;
};

}  // namespace ray::python
