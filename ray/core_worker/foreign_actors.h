// Actors another scheduler owns, called from this driver and its tasks: the detached actors of
// the cluster's actor host (the driver's own program, started by the head, whose scheduler owns
// them while drivers come and go). This driver reaches the host's scheduler as a client
// (worker.capnp, FromWorker.client). A detached actor's creation goes there at once; a call of
// one of the host's actors is a task of this driver's scheduler until its arguments exist, then
// the scheduler hands it here (Scheduler::SetForeignHooks) and a thread of ours submits it to the
// host, its ObjectRef arguments read and sent as values, in the order they came. Another thread
// takes the results in that order, copies them into this driver (inline, or into this node's
// store) and hands them to the scheduler (ForeignCallDone; ObjectArrived for creations and
// lookups), where they are objects as any other.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "ray/cluster/actor_host_address.h"
#include "ray/cluster/cluster_stream.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/node/scheduler.h"

namespace ray::core {

namespace worker_internal {
class WorkerRuntime;
}

class ForeignActors {
 public:
  // Names the host, starting it if `start` (else NotFound when there is none); called from a
  // caller's thread.
  using FindHost = std::function<absl::StatusOr<cluster::ActorHostAddress>(bool start)>;
  // An object's value (a forwarded call's ObjectRef argument, which exists).
  using ReadObject = std::function<absl::StatusOr<std::string>(const ObjectID& id)>;
  // `scheduler` must outlive this.
  ForeignActors(Scheduler& scheduler, std::string store_socket, cluster::Credentials credentials,
                FindHost find_host, ReadObject read);
  ~ForeignActors();  // closes the connection: results not taken yet are dropped

  // Whether `actor` (its handle's object) is the host's, made or found through this.
  bool Owns(const ObjectID& actor);
  // Submits a detached actor's creation to the host, its ObjectRef arguments read first (none may
  // be nested in a value). Its return, the handle's object, is an object of this driver once
  // the host made it.
  absl::StatusOr<std::vector<ObjectID>> Create(TaskSpec spec) ABSL_LOCKS_EXCLUDED(mu_);
  // The host's actor named `name`, its handle's object now an object of this driver too (with a
  // reference for the caller); nullopt if it has none, or there is no host.
  absl::StatusOr<std::optional<CoreRuntime::NamedActor>> Lookup(const std::string& name)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Kill(const ObjectID& actor, bool no_restart) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // Reads `spec`'s ObjectRef arguments into values (the host cannot read this driver's
  // objects); InvalidArgument if a value holds ObjectRefs (other than `actor`, a call's own).
  absl::Status ReadArguments(TaskSpec& spec, const ObjectID& actor);
  // The connection to the host, made on first use (the host started if `start`). One whose
  // connection closed (the host died) is dropped and the head asked again.
  absl::StatusOr<std::shared_ptr<worker_internal::WorkerRuntime>> Host(bool start = true)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Work the scheduler hands over under its lock (a call to forward, a worker's lookup): queued
  // for the forwarder thread, which does it in order.
  void Queue(std::function<void()> work) ABSL_LOCKS_EXCLUDED(forward_mu_);
  void ForwardLoop() ABSL_LOCKS_EXCLUDED(forward_mu_, mu_);
  // Forwards a call; fails it if it could not go.
  void ForwardCall(const TaskRecord& call, const FunctionRecord& function);
  // Submits one; the error that fails it, if it could not go.
  absl::Status SubmitForwarded(const TaskRecord& call, const FunctionRecord& function)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The deliverer thread: takes each submission's results in order and hands them over.
  void Deliver() ABSL_LOCKS_EXCLUDED(mu_);
  // A submission whose results are due: the host's IDs of them, and the forwarded call whose
  // returns they are (nil: they are this driver's objects under the same IDs), from `host`.
  struct Due {
    std::vector<ObjectID> ids;
    TaskID call;
    std::shared_ptr<worker_internal::WorkerRuntime> host;
    std::string address;  // the host's
  };
  // Copies the results from the host into this driver: inline, or into this node's store; an
  // error object for each if the host cannot give them.
  void Take(const Due& due);

  Scheduler& scheduler_;
  const std::string store_socket_;
  const cluster::Credentials credentials_;
  const FindHost find_host_;
  absl::Mutex mu_;
  std::string host_address_ ABSL_GUARDED_BY(mu_);  // host_'s
  struct Copies;                                   // this node's store and a puller into it
  std::unique_ptr<Copies> copies_;  // set with the first host_, before the deliverer starts
  // The host now; a dropped one lives on while submissions to it are due (their gets fail).
  std::shared_ptr<worker_internal::WorkerRuntime> host_ ABSL_GUARDED_BY(mu_);
  std::deque<Due> due_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread deliverer_;  // from the connection on
  const ReadObject read_;
  absl::Mutex forward_mu_;
  std::deque<std::function<void()>> forward_ ABSL_GUARDED_BY(forward_mu_);
  bool forward_stopping_ ABSL_GUARDED_BY(forward_mu_) = false;
  std::thread forwarder_;
};

}  // namespace ray::core
