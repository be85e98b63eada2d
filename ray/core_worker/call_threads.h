// A worker whose actor has max_concurrency > 1 runs its calls on threads of their own (up to
// that many at once) while its main thread reads the scheduler's socket. An interpreter embedded
// in the process (the Python extension) learns of it here: `leave` runs on the main thread before
// the call threads start (it lets go of what that thread held, the GIL), `enter` after they all
// ended.
//
// Deferred calls: an actor whose calls end after their invoker returned (Python's async actors:
// the invoker hands the call to an event loop and returns). Its creation says so
// (DeferActorCalls); the worker then runs no call threads: it starts each call on the thread that
// reads its socket (or on the one that ended a call, when max_concurrency calls were open), and
// the invoker takes the call with DeferRunningCall; whoever runs the call finishes it later.
#pragma once

#include <memory>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "ray/function/invoker.h"

namespace ray::core {

struct CallThreadHooks {
  void (*leave)() = nullptr;
  void (*enter)() = nullptr;
};
// Set once, before the process serves tasks (module init).
void SetCallThreadHooks(CallThreadHooks hooks);
const CallThreadHooks& GetCallThreadHooks();

// Whether this process runs calls on threads of their own now (set by the worker).
void SetCallsOnThreads(bool on);
bool CallsOnThreads();

// A call that outlives its invoker: the worker holds it open (counted against the actor's
// max_concurrency, its process's heartbeats going on) until Finish. Thread-safe; Finish once.
class DeferredCall {
 public:
  // One destroyed unfinished ends as failed (and flushes).
  virtual ~DeferredCall() = default;
  // Ends the call: `write` writes its returns and says how it failed, as an invoker does. The
  // result goes to the scheduler at the next Flush (of this call or another), or with the next
  // message the worker sends. False if the worker stopped serving meanwhile: `write` did not run.
  virtual bool Finish(absl::FunctionRef<absl::Status(ReturnWriter&)> write) = 0;
  // Sends the results of the calls finished so far, and starts the queued calls that have room
  // now. Call it without locks the worker's invokers take (an interpreter's lock).
  virtual void Flush() = 0;
};

// What the worker sets around an invoker of an actor that defers its calls.
class DeferrableCall {
 public:
  virtual std::unique_ptr<DeferredCall> Defer() = 0;

 protected:
  ~DeferrableCall() = default;
};
void SetDeferrableCall(DeferrableCall* call);  // this thread's; null after the invoker

// In an invoker: the running call does not end when the invoker returns, but when the returned
// call finishes (what the invoker writes or returns is ignored). Null where calls cannot defer:
// outside a worker (the driver, local mode), in a task, or in an actor that did not say so.
std::unique_ptr<DeferredCall> DeferRunningCall();

// The worker allows deferred calls (from its start); an actor's creation then says that its
// calls defer (returns false where they cannot: outside a worker).
void AllowDeferredCalls();
bool DeferActorCalls();
bool ActorDefersCalls();

}  // namespace ray::core
