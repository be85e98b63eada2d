// The interpreter in a worker process: the fix-ups a fork of the driver needs before it runs
// Python, and the GIL when the worker's actor runs calls on threads of their own
// (ray/core_worker/call_threads.h): the main thread, which holds the GIL for good otherwise, lets
// go of it while they run, and each call thread takes it for its call (InvokePython).
#pragma once

namespace ray::python {

// At module init, in the interpreter's own process: notes it, and sets the call thread hooks.
void SetUpInterpreterForWorkers();
// In a fork of that process, on the thread that held the GIL when the zygote was forked: the
// interpreter's own after-fork fix-ups (once per process; nothing in the interpreter's own).
void TakeInterpreterAfterFork();

}  // namespace ray::python
