// The runtime beneath the public API (ray/api.h): the type-erased operations that the API's
// templates turn typed calls into. The driver's runtime (scheduler threads in-process), a
// worker's runtime (talking to the scheduler) and local mode (tasks run in the caller's
// process) implement it. Values cross this interface already serialized
// (ray/object/object_format.h; C++ values: ray/api/internal/serialization.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ray/common/actor_options.h"
#include "ray/common/id.h"
#include "ray/common/interrupt_check.h"
#include "ray/common/resources.h"
#include "ray/function/invoker.h"
#include "ray/observability/graph_snapshot.h"
#include "ray/rpc/inline_values.h"

namespace ray::core {

// A task's options as the runtimes take them (checked: CheckSubmitOptions, limits.h). The API's
// ray::TaskOptions and Python's .options() become these.
struct SubmitOptions {
  int num_returns = 1;
  double num_cpus = 1;
  int max_retries = 3;        // re-runs after a worker crash; exceptions are not retried
  std::string name;           // names the task in the graph; "": the function's name
  ResourceAmounts resources;  // custom resources it holds while it runs
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
  SubmitOptions options;
  // Objects the argument values reference (IDs inside them): kept alive until the task ends,
  // so the caller may drop its references at once. Not waited for, unlike `ref` arguments.
  std::vector<ObjectID> nested_refs;
  // A call of the actor whose handle's object this is (nil: a plain task). It runs on that
  // actor's process, after the calls submitted before it whose arguments exist.
  ObjectID actor;
  // Set: the task makes an actor (runs the factory on a process of its own, which then serves
  // the actor's calls); its one return is the actor's handle object.
  std::optional<ActorOptions> creates_actor;
};

struct PutOptions {
  // An object a client stores for its own use (the Python package's pickled functions): not
  // drawn in the computation graph, neither as an object nor as an argument.
  bool hidden = false;
  // Objects the value references (IDs inside it): kept alive as long as this object.
  std::vector<ObjectID> nested_refs;
};

// What a Wait found: positions in the IDs it was given (the API's ray::WaitResult<T> holds the
// refs themselves).
struct WaitIndices {
  std::vector<size_t> ready;  // indexes into the ids passed to Wait, in order
  std::vector<size_t> not_ready;
};

// Calls that can fail return a status in the vocabulary of ray/object/status.h (the frontends
// turn it into their exceptions).
class CoreRuntime {
 public:
  virtual ~CoreRuntime() = default;

  // Submits a task; returns the IDs of its options.num_returns return objects at once.
  virtual absl::StatusOr<std::vector<ObjectID>> Submit(TaskSpec spec) = 0;
  // Stores a new object of `size` bytes that `write` fills in place.
  virtual absl::StatusOr<ObjectID> Put(size_t size,
                                       absl::FunctionRef<void(std::span<uint8_t>)> write,
                                       const PutOptions& options) = 0;
  // Waits for every object (at most `timeout`; InfiniteDuration waits forever):
  // DeadlineExceeded on timeout. A failed task's results come back as error objects.
  virtual absl::StatusOr<std::vector<ObjectValue>> Get(std::span<const ObjectID> ids,
                                                       absl::Duration timeout) = 0;
  // Returns once `num_returns` objects exist or `timeout` passes.
  virtual absl::StatusOr<WaitIndices> Wait(std::span<const ObjectID> ids, size_t num_returns,
                                           absl::Duration timeout) = 0;
  // Counts ObjectRef instances in this process; an object nobody references is freed.
  virtual void AddRef(const ObjectID& id) = 0;
  virtual void RemoveRef(const ObjectID& id) = 0;
  // The computation graph so far, where this runtime records one (the driver's); else nullopt.
  virtual std::optional<TaskGraphSnapshot> GraphSnapshot() const { return std::nullopt; }
  // The task the calling thread runs: in a worker the running task (the innermost one when
  // tasks nest), in a driver the driver's own root task. Nil if the runtime does not know.
  virtual TaskID CurrentTaskId() const { return TaskID::Nil(); }
  // Shutdown is coming (see runtime_gate.h): calls blocked in Get or Wait return now with
  // ShutDownError() (ray/object/status.h), and so do those that block later.
  virtual void Interrupt() {}
  // Kills the actor whose handle's object is `actor`: its process ends at once; its calls not
  // done fail with ActorDiedError unless it restarts (never with `no_restart`).
  virtual absl::Status KillActor(const ObjectID& actor, bool no_restart) {
    return absl::UnimplementedError("this runtime has no actors");
  }
  // The actor named `name` in this session (its handle's object, with a reference counted for
  // the caller, and its class), or nullopt.
  struct NamedActor {
    ObjectID id;
    std::string type;
  };
  virtual absl::StatusOr<std::optional<NamedActor>> LookupActor(const std::string& name) {
    return absl::UnimplementedError("this runtime has no actors");
  }
  // The actor this process serves ends after its running call (ray::ExitActor): for good.
  virtual absl::Status ActorExiting(const ObjectID& actor) {
    return absl::UnimplementedError("this runtime serves no actor");
  }
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
// that the Python package loads (ray/core_worker/function_registry.h). The loader hands over its
// CurrentRuntime, CurrentRuntimeEpoch and ThisNodeId; while no runtime (no node ID) is set in
// this copy, this copy's return theirs, so the library's functions can use the ray API on the
// loader's runtime and see its node.
using RuntimeSource = CoreRuntime* (*)();
using EpochSource = uint64_t (*)();
using NodeIdSource = const std::string& (*)();
void UseRuntimeOf(RuntimeSource runtime, EpochSource epoch, NodeIdSource node_id);

// This node's ID (hex, as the cluster knows it): set by the session before its node starts, so
// the node's workers (forks) have it too. "" outside a session.
const std::string& ThisNodeId();
void SetThisNodeId(const std::string& id);

}  // namespace ray::core
