// Actors another scheduler owns, called from this driver: the detached actors of the cluster's
// actor host (the driver's own program, started by the head, whose scheduler owns them while
// drivers come and go). This driver reaches the host's scheduler as a client (worker.capnp,
// FromWorker.client): it submits creations and calls there, their arguments as values, in the
// order they are made; a thread of its own takes their results in that order, copies them into
// this driver (inline, or into this node's store) and hands them to the driver's scheduler, where
// they are objects as any other (Scheduler::ExpectObject, ObjectArrived).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "ray/cluster/cluster_stream.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/node/scheduler.h"

namespace ray::core {

namespace worker_internal {
class WorkerRuntime;
}

// Where the actor host's scheduler takes clients, and its session's job.
struct ActorHostAddress {
  std::string address;  // HOST:PORT
  uint32_t job = 0;
};

class ForeignActors {
 public:
  // Names the host, starting it if `start` (else NotFound when there is none); called from a
  // caller's thread.
  using FindHost = std::function<absl::StatusOr<ActorHostAddress>(bool start)>;
  // `scheduler` must outlive this.
  ForeignActors(Scheduler& scheduler, std::string store_socket, cluster::Credentials credentials,
                FindHost find_host);
  ~ForeignActors();  // closes the connection: results not taken yet are dropped

  // Whether `actor` (its handle's object) is the host's, made or found through this.
  bool Owns(const ObjectID& actor) ABSL_LOCKS_EXCLUDED(mu_);
  // Submits `spec`, a detached actor's creation or a call of an actor this Owns, to the host.
  // Its argument values must be inline (refs resolved, none nested). Its returns: objects of
  // this driver, which exist once the host made them.
  absl::StatusOr<std::vector<ObjectID>> Submit(TaskSpec spec) ABSL_LOCKS_EXCLUDED(mu_);
  // The host's actor named `name`, its handle's object now an object of this driver too (with a
  // reference for the caller); nullopt if it has none, or there is no host.
  absl::StatusOr<std::optional<CoreRuntime::NamedActor>> Lookup(const std::string& name)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Kill(const ObjectID& actor, bool no_restart) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // The connection to the host, made on first use (the host started if `start`).
  absl::StatusOr<worker_internal::WorkerRuntime*> Host(bool start = true)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The thread: takes each submission's results in order and hands them to the scheduler.
  void Deliver() ABSL_LOCKS_EXCLUDED(mu_);
  // Copies `ids` from the host into this driver: inline, or in this node's store. An error
  // object for each if the host cannot give them.
  void Take(const std::vector<ObjectID>& ids);

  Scheduler& scheduler_;
  const std::string store_socket_;
  const cluster::Credentials credentials_;
  const FindHost find_host_;
  absl::Mutex mu_;
  std::string host_address_ ABSL_GUARDED_BY(mu_);
  struct Copies;                    // this node's store and a puller into it
  std::unique_ptr<Copies> copies_;  // set with host_, before the deliverer starts
  std::unique_ptr<worker_internal::WorkerRuntime> host_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<ObjectID> owned_ ABSL_GUARDED_BY(mu_);
  std::deque<std::vector<ObjectID>> pending_ ABSL_GUARDED_BY(mu_);  // submissions' returns
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread deliverer_;
};

}  // namespace ray::core
