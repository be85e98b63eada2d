// The runtime beneath the public API (ray/api.h): the type-erased operations that the API's
// templates turn typed calls into. The driver's runtime (scheduler threads in-process), a
// worker's runtime (talking to the scheduler) and local mode (tasks run in the caller's
// process) implement it. Values cross this interface already serialized
// (ray/core/serialization.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "ray/core/id.h"
#include "ray/core/task_graph.h"

namespace ray::core {

// An object's serialized bytes, kept alive by `owner` (a store pin or the runtime's memory).
struct ObjectValue {
  std::span<const uint8_t> bytes;
  std::shared_ptr<const void> owner;
};

// Where a task puts its return values: Allocate(i, n) gives n writable bytes for return i
// (in the shared store or in a message, as the runtime sees fit).
class ReturnWriter {
 public:
  virtual ~ReturnWriter() = default;
  virtual std::span<uint8_t> Allocate(size_t index, size_t size) = 0;
  // Return i's value references these objects (IDs inside it): they live as long as it does.
  virtual void SetNestedRefs(size_t index, std::vector<ObjectID> ids) = 0;
};

// Runs `function` (the user's function, cast back by the invoker, which knows its type) on
// serialized arguments and writes its return values. Exceptions propagate to the caller.
// One invoker is instantiated per function type; workers run the same binary, so its
// address names it (ray/core/function_id.h).
using Invoker = void (*)(const void* function, std::span<const ObjectValue> args,
                         ReturnWriter& returns);

struct TaskOptions {
  int num_returns = 1;
  double num_cpus = 1;
  int max_retries = 3;  // re-runs after a worker crash; exceptions are not retried
  std::string name;     // names the task in the graph; "": the function's name
};

// One argument: a reference to an object (resolved to its value before the task runs) or a
// value serialized inline.
struct TaskArg {
  ObjectID ref;       // nil for a value
  std::string value;  // the serialized value when `ref` is nil
};

struct TaskSpec {
  Invoker invoker = nullptr;
  const void* function = nullptr;
  std::vector<TaskArg> args;
  TaskOptions options;
  // Objects the argument values reference (IDs inside them): kept alive until the task ends,
  // so the caller may drop its references at once. Not waited for, unlike `ref` arguments.
  std::vector<ObjectID> nested_refs;
};

// Values (task arguments, results, puts) up to this size travel inline in messages and live in
// the scheduler's memory; larger ones go through the node's store.
inline constexpr size_t kInlineLimit = 64 << 10;
// A task carries at most this many bytes of values inline: its arguments, and apart from them
// its results. Its values past that go through the store, so that one task always fits in one
// message to or from a worker (see the frame sizes in worker.capnp).
inline constexpr size_t kTaskInlineBytes = 8 << 20;

// Decides which of one task's values go inline: each up to kInlineLimit bytes, until they take
// kTaskInlineBytes together.
class InlineBudget {
 public:
  // Whether a value of `size` bytes goes inline (if so, it is counted).
  bool Take(size_t size) {
    if (size > kInlineLimit || size > left_) return false;
    left_ -= size;
    return true;
  }

 private:
  size_t left_ = kTaskInlineBytes;
};

struct PutOptions {
  // An object a client stores for its own use (the Python package's pickled functions): not
  // drawn in the computation graph, neither as an object nor as an argument.
  bool hidden = false;
  // Objects the value references (IDs inside it): kept alive as long as this object.
  std::vector<ObjectID> nested_refs;
};

struct WaitResult {
  std::vector<size_t> ready;  // indexes into the ids passed to Wait, in order
  std::vector<size_t> not_ready;
};

class CoreRuntime {
 public:
  virtual ~CoreRuntime() = default;

  // Submits a task; returns the IDs of its options.num_returns return objects at once.
  virtual std::vector<ObjectID> Submit(TaskSpec spec) = 0;
  // Stores a new object of `size` bytes that `write` fills in place.
  virtual ObjectID Put(size_t size, absl::FunctionRef<void(std::span<uint8_t>)> write,
                       const PutOptions& options) = 0;
  // Waits for every object (at most `timeout`; InfiniteDuration waits forever). Throws
  // ray::GetTimeoutError (ray/core/errors.h) on timeout. A failed task's results come back as error
  // objects.
  virtual std::vector<ObjectValue> Get(std::span<const ObjectID> ids, absl::Duration timeout) = 0;
  // Returns once `num_returns` objects exist or `timeout` passes.
  virtual WaitResult Wait(std::span<const ObjectID> ids, size_t num_returns,
                          absl::Duration timeout) = 0;
  // Counts ObjectRef instances in this process; an object nobody references is freed.
  virtual void AddRef(const ObjectID& id) = 0;
  virtual void RemoveRef(const ObjectID& id) = 0;
  // The computation graph so far, where this runtime records one (the driver's); else nullopt.
  virtual std::optional<TaskGraph::Snapshot> GraphSnapshot() const { return std::nullopt; }
  // The task the calling thread runs: in a worker the running task (the innermost one when
  // tasks nest), in a driver the driver's own root task. Nil if the runtime does not know.
  virtual TaskID CurrentTaskId() const { return TaskID::Nil(); }
  // Shutdown is coming (see runtime_gate.h): calls blocked in Get or Wait return now, throwing
  // ray::RayError(kShutDownMessage), and so do those that block later.
  virtual void Interrupt() {}
};

// A check that a thread blocked in the driver's Get or Wait runs every `interval`, without the
// runtime's locks held. The Python driver runs its signal handlers there, so that Ctrl-C ends a
// long get, which then need not be cut into short gets (each would look up every ID again).
// When `interrupted` returns true, the wait ends as if its timeout had passed. In force on the
// thread that makes it, while it lives (they nest).
class ScopedInterruptCheck {
 public:
  ScopedInterruptCheck(absl::Duration interval, absl::FunctionRef<bool()> interrupted);
  ~ScopedInterruptCheck();
  ScopedInterruptCheck(const ScopedInterruptCheck&) = delete;
  ScopedInterruptCheck& operator=(const ScopedInterruptCheck&) = delete;

  // The innermost check in force on this thread, or null.
  static const ScopedInterruptCheck* Current();
  absl::Duration interval() const { return interval_; }
  bool Interrupted() const { return interrupted_(); }

 private:
  absl::Duration interval_;
  absl::FunctionRef<bool()> interrupted_;
  const ScopedInterruptCheck* outer_;
};

// Returns from Submit and Put carry one reference already counted for the caller; the
// caller's first ObjectRef adopts it (no AddRef), and its last RemoveRef releases it.

// The runtime of this process: set by ray::Init in a driver and by the worker loop in a
// worker; null otherwise.
CoreRuntime* CurrentRuntime();
void SetCurrentRuntime(CoreRuntime* runtime);

// Counts the changes of CurrentRuntime(): SetCurrentRuntime with a different pointer
// increments it (starting from 1, so 0 never names a runtime). An ObjectRef remembers the
// epoch it was counted in and calls RemoveRef only if the epoch is still current, so a ref
// that outlives its runtime (after Shutdown, in a static destructor) never calls into a dead
// one. A runtime must therefore stay current for its whole life: set it once, clear it
// (SetCurrentRuntime(nullptr)) before destroying it.
uint64_t CurrentRuntimeEpoch();

// For a module that holds a copy of libray of its own: a user's library of RAY_REMOTE functions
// that the Python package loads (ray/core/function_registry.h). The loader hands over its
// CurrentRuntime and CurrentRuntimeEpoch; while no runtime is set in this copy, this copy's
// return theirs, so the library's functions can use the ray API on the loader's runtime.
using RuntimeSource = CoreRuntime* (*)();
using EpochSource = uint64_t (*)();
void UseRuntimeOf(RuntimeSource runtime, EpochSource epoch);

}  // namespace ray::core
