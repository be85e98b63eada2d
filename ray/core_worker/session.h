// The session owner: the one place that starts ray in a process (a node, or local mode), makes
// its runtime CurrentRuntime() behind a gate (runtime_gate.h), and shuts it down. Both frontends
// call it: ray::Init / ray::Shutdown (ray/api/init.cc) and ray.init / ray.shutdown (the Python
// extension, ray/python_embed/python_extension.cc), which convert its errors to their own.
// At most one session per process at a time. Thread-safe.
#pragma once

#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ray/cluster/actor_host_address.h"
#include "ray/cluster/node_table.h"
#include "ray/core_worker/driver_runtime.h"
#include "ray/core_worker/runtime_gate.h"
#include "ray/core_worker/session_options.h"

namespace ray::core {

// What StartSession does at exit if the session is still open.
enum class AtExit {
  kShutdown,  // ShutdownSession from a std::atexit hook (C++ programs)
  kNothing,   // the caller shuts down itself (Python: its atexit hook runs while the interpreter
              // lives, a C hook would run after it is gone)
};

// Starts a session: checks `options` (CheckSessionOptions, limits.h), starts local mode or the
// node (DriverRuntime::Start, which forks: call it before the program starts threads), and makes
// its gate CurrentRuntime(). Errors, each with a message for the caller to prefix with its call:
//   - FailedPrecondition: this process is a ray worker (it has a runtime it did not start);
//   - AlreadyExists: a session is open (or starting) in this process;
//   - InvalidArgument: an option out of its limits;
//   - another code: the node did not start ("cannot start the node: ...").
absl::Status StartSession(const SessionOptions& options, AtExit at_exit = AtExit::kShutdown);

// Runs `wait` (which may block) in a way that suits the caller (Python releases the GIL).
using BlockingSection = absl::FunctionRef<void(absl::FunctionRef<void()> wait)>;

// Ends the session this process started: clears CurrentRuntime(), then closes the gate inside
// `blocking` (calls blocked in Get or Wait return "ray was shut down"; the gate waits for the
// calls inside to leave and destroys the runtime, which stops the node). A no-op without a
// session, or in a forked copy of the process that started it (a worker).
void ShutdownSession();
void ShutdownSession(BlockingSection blocking);

// True while a session this process started is CurrentRuntime() (false in its workers).
bool InSession();
// The session's gate while InSession(); null otherwise.
RuntimeGate* SessionGate();
// The session's node while InSession(); null otherwise and in local mode. Use it through a
// call of SessionGate() (RuntimeGate::Call), which ShutdownSession waits for.
DriverRuntime* SessionNode();
// The cluster's nodes as the session's node knows them (DriverRuntime::Nodes). FailedPrecondition
// without a session, in local mode and in a worker.
absl::StatusOr<std::vector<cluster::NodeEntry>> SessionNodes();
// The actor host of the session's program in its cluster (ClusterLink::ActorHost), started if
// there is none and `start`; blocks until it serves (seconds), inside a call of the gate.
// FailedPrecondition without a session, in local mode, in a worker, and "not in a cluster" when
// Init had no address; NotFound if there is none and not `start`; Unavailable when the head has
// no host to give (why).
absl::StatusOr<cluster::ActorHostAddress> ActorHostOfCluster(bool start = true);

}  // namespace ray::core
