#include "ray/python_embed/call_threads_python.h"

#include <Python.h>
#include <unistd.h>

#include <utility>

#include "ray/core_worker/call_threads.h"

namespace ray::python {
namespace {

// The process this module last saw the interpreter fixed up in.
pid_t python_pid = 0;
// The main thread's state while call threads run (it let go of the GIL).
PyThreadState* main_thread = nullptr;
// A call thread's state between its calls (without the GIL).
thread_local PyThreadState* call_thread = nullptr;

void LeaveForCallThreads() {
  TakeInterpreterAfterFork();
  if (PyGILState_Check()) main_thread = PyEval_SaveThread();
}

void EnterAfterCallThreads() {
  if (main_thread != nullptr) PyEval_RestoreThread(std::exchange(main_thread, nullptr));
}

}  // namespace

void SetUpInterpreterForWorkers() {
  python_pid = getpid();
  core::SetCallThreadHooks({.leave = &LeaveForCallThreads, .enter = &EnterAfterCallThreads});
}

TaskGil::TaskGil() {
  if (!core::CallsOnThreads() || PyGILState_Check()) {
    plain_.emplace();
  } else if (call_thread == nullptr) {
    PyGILState_Ensure();  // never released: the thread state stays for the next calls
  } else {
    PyEval_RestoreThread(std::exchange(call_thread, nullptr));
  }
}

TaskGil::~TaskGil() {
  if (!plain_) call_thread = PyEval_SaveThread();
}

void TakeInterpreterAfterFork() {
  if (getpid() == python_pid) return;
  PyOS_AfterFork_Child();
  python_pid = getpid();
}

}  // namespace ray::python
