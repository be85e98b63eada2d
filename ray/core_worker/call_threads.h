// A worker whose actor has max_concurrency > 1 runs its calls on threads of their own (up to
// that many at once) while its main thread reads the scheduler's socket. An interpreter embedded
// in the process (the Python extension) learns of it here: `leave` runs on the main thread before
// the call threads start (it lets go of what that thread held, the GIL), `enter` after they all
// ended.
#pragma once

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

}  // namespace ray::core
