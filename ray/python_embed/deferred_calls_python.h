// Python's async actors on deferred calls (ray/core_worker/call_threads.h). The invoker of an
// async actor's call hands the call and its arguments to the actor's event loop through an inbox
// and returns, without the GIL; the loop (python/ray/_async_actor.py), woken through an eventfd,
// takes the calls in (take_deferred_calls), runs their coroutines, and hands back the results of
// those that ended in one turn of the loop at once (finish_calls).
#pragma once

#include <pybind11/pybind11.h>

#include <span>

#include "absl/status/status.h"
#include "ray/function/invoker.h"

namespace ray::python {

// In an invoker, without the GIL: hands the running call to the actor's loop if its actor defers
// its calls; false if not (the invoker runs it itself).
bool DeferToActorLoop(std::span<const core::ObjectValue> args);

// Writes what python/ray/_executor.py returned for a task into `returns`: a list of
// (parts, type name, nested IDs, value), one per return, or a dict that describes the task's
// exception (the status then carries it). With the GIL.
absl::Status WriteOutcome(pybind11::handle outcome, core::ReturnWriter& returns);

// A failure of the executor itself (not of the task, which it reports as a dict).
absl::Status ExecutorFailure(const pybind11::error_already_set& e);

// Adds defer_actor_calls, take_deferred_calls and finish_calls to the module.
void RegisterDeferredCalls(pybind11::module_& m);

}  // namespace ray::python
