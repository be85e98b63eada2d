#include "ray/core_worker/session.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "ray/cluster/local_files.h"
#include "ray/core_worker/actor_host.h"
#include "ray/core_worker/cluster_link.h"
#include "ray/core_worker/limits.h"
#include "ray/core_worker/local_runtime.h"
#include "ray/core_worker/remote_worker.h"

namespace ray::core {
namespace {

// The process's session; leaked (no static destructor runs at exit). The mutex is never held
// across the fork of the zygote (StartSession starts the node outside it), so a worker's copy
// of it is unlocked.
struct SessionState {
  absl::Mutex mu;
  bool starting ABSL_GUARDED_BY(mu) = false;
  // Read without the mutex by InSession and friends (every API call in Python).
  std::atomic<RuntimeGate*> gate{nullptr};    // open while the session is
  std::atomic<DriverRuntime*> node{nullptr};  // the gate's runtime, unless in local mode
  std::atomic<pid_t> pid{0};                  // the process that started the session
};
SessionState& State() {
  static auto* const state = new SessionState;
  return *state;
}

bool Owned(const SessionState& state, CoreRuntime* current) {
  return current != nullptr && current == state.gate.load() && state.pid.load() == getpid();
}

void ShutdownAtExit() { ShutdownSession(); }

}  // namespace

absl::Status StartSession(const SessionOptions& given, AtExit at_exit) {
  RunIfRemoteWorker();    // a node started this process to be a worker: it never returns
  RunIfActorHost(given);  // nor as its head's actor host
  SessionState& state = State();
  SessionOptions options = given;
  if (const char* address = std::getenv("RAY_ADDRESS");
      options.address.empty() && !options.local_mode && address != nullptr) {
    options.address = address;
  }
  {
    absl::MutexLock lock(&state.mu);
    if (CoreRuntime* current = CurrentRuntime(); current != nullptr) {
      if (!Owned(state, current)) {
        return absl::FailedPreconditionError("this process is a ray worker: ray is initialized");
      }
      return absl::AlreadyExistsError("ray is already initialized");
    }
    if (state.starting) return absl::AlreadyExistsError("ray is already initialized");
    if (absl::Status status = CheckSessionOptions(options); !status.ok()) return status;
    state.starting = true;
  }
  // Outside the mutex: the node forks the zygote, whose copy of the mutex must be unlocked.
  std::unique_ptr<CoreRuntime> runtime;
  DriverRuntime* node = nullptr;
  SetThisNodeId(cluster::NewNodeId());
  if (options.local_mode) {
    runtime = std::make_unique<LocalRuntime>();
  } else {
    absl::StatusOr<std::unique_ptr<DriverRuntime>> started = DriverRuntime::Start(options);
    if (!started.ok()) {
      absl::MutexLock lock(&state.mu);
      state.starting = false;
      return absl::Status(started.status().code(),
                          absl::StrCat("cannot start the node: ", started.status().message()));
    }
    node = started->get();
    runtime = *std::move(started);
  }
  if (at_exit == AtExit::kShutdown) {
    static const bool registered = (std::atexit(ShutdownAtExit), true);
    (void)registered;
  }
  absl::MutexLock lock(&state.mu);
  state.node = node;
  state.pid = getpid();
  state.gate = RuntimeGate::Open(std::move(runtime));
  state.starting = false;
  SetCurrentRuntime(state.gate.load());
  return absl::OkStatus();
}

void ShutdownSession() {
  ShutdownSession([](absl::FunctionRef<void()> wait) { wait(); });
}

void ShutdownSession(BlockingSection blocking) {
  SessionState& state = State();
  if (state.pid.load() != getpid()) return;  // a worker's copy of its driver's session
  RuntimeGate* gate;
  {
    absl::MutexLock lock(&state.mu);
    gate = state.gate.exchange(nullptr);
    if (gate == nullptr) return;
    state.node = nullptr;
    if (CurrentRuntime() == gate) SetCurrentRuntime(nullptr);
  }
  // Outside the mutex: waits for other threads' calls to leave (those blocked in Get or Wait
  // return "ray was shut down"), then stops whatever the runtime started.
  blocking([gate] { gate->Close(); });
}

bool InSession() { return Owned(State(), CurrentRuntime()); }

RuntimeGate* SessionGate() { return InSession() ? State().gate.load() : nullptr; }

DriverRuntime* SessionNode() { return InSession() ? State().node.load() : nullptr; }

absl::StatusOr<std::vector<cluster::NodeEntry>> SessionNodes() {
  if (CurrentRuntime() == nullptr) return absl::FailedPreconditionError("call ray::Init first");
  DriverRuntime* node = SessionNode();
  if (node == nullptr) {
    return absl::FailedPreconditionError(
        InSession() ? "local mode runs no node"
                    : "only the driver reads the cluster's nodes (for now)");
  }
  absl::StatusOr<std::vector<cluster::NodeEntry>> nodes = absl::CancelledError("ray was shut down");
  absl::Status called = SessionGate()->Call([&](CoreRuntime&) { nodes = node->Nodes(); });
  return called.ok() ? nodes : called;
}

absl::StatusOr<cluster::ActorHostAddress> ActorHostOfCluster(bool start) {
  if (CurrentRuntime() == nullptr) return absl::FailedPreconditionError("call ray::Init first");
  DriverRuntime* node = SessionNode();
  if (node == nullptr) {
    return absl::FailedPreconditionError(InSession()
                                             ? "local mode runs no node: not in a cluster"
                                             : "only the driver asks for its program's actor host");
  }
  absl::StatusOr<cluster::ActorHostAddress> host = absl::CancelledError("ray was shut down");
  absl::Status called = SessionGate()->Call([&](CoreRuntime&) {
    ClusterLink* link = node->cluster();
    host = link != nullptr ? link->ActorHost(start)
                           : absl::FailedPreconditionError(
                                 "not in a cluster: ray::Init / ray.init had no address");
  });
  return called.ok() ? host : called;
}

}  // namespace ray::core
