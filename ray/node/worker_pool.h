// A worker as the scheduler holds it, and the pool of them.
#pragma once

#include <sys/types.h>

#include <cassert>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "ray/common/id.h"
#include "ray/common/pidfd.h"
#include "ray/common/resources.h"
#include "ray/node/reference_table.h"
#include "ray/node/worker_connection.h"
#include "ray/node/worker_state.h"

namespace ray::core {

// A worker process as the scheduler holds it (under the scheduler's mutex), in a WorkerPool slot.
struct WorkerRecord {
  using State = WorkerState;
  // Every change of `state` goes through here (checked in debug builds).
  void MoveTo(State to) {
    assert(CanMoveWorker(state, to));
    state = to;
  }
  int index = 0;
  pid_t pid = 0;
  // Its process, until it has ended (while dead, its record is not reused: see WorkerPool::Add).
  Pidfd process;
  std::unique_ptr<WorkerConnection> connection;  // its socket; null once dead
  State state = State::kIdle;
  // Sent and not done; the front one is running (the first `concurrency` for an actor that runs
  // calls on threads, where they end in any order).
  std::deque<TaskID> assigned;
  int concurrency = 1;  // an actor's max_concurrency, once it is created
  double cpus_held = 0;
  ResourceAmounts resources_held;  // custom ones, held by its running task (never while queued)
  int node = 0;    // its node in the scheduler's numbering; -1 until a remote one says which
  ObjectID actor;  // the actor it serves (its handle's object): it runs nothing else; nil: none
  // Not a worker: another driver's process that calls this scheduler's actors (it submits, gets,
  // looks up and kills; it is never given a task nor counted in the pool).
  bool client = false;
  // Whether it may be given tasks of the pool (neither an actor's worker nor a client).
  bool pooled() const { return actor.IsNil() && !client; }
  // The node whose store it reads objects from (-1 for a client: none; it is told where each is).
  int reader_node() const { return client ? -1 : node; }
  absl::flat_hash_set<ObjectID> held;   // objects this process holds a reference to
  bool broken = false;                  // a write failed: the scheduler thread retires it
  bool to_flush = false;                // on the scheduler's list of workers to flush
  bool steal_pending = false;           // asked to hand back its queued tasks
  absl::Time front_started;             // when its front task started
  absl::Time idle_since = absl::Now();  // when it last became idle
  // Its last complete message, or when it began to hold tasks if later (see WorkerLiveness).
  absl::Time heard = absl::Now();
  // Once dead: the tasks it held, retried when its process has ended; the first `lost_running`
  // of them were running (they use a retry), and `lost_why` says what happened.
  std::deque<TaskID> lost_tasks;
  size_t lost_running = 0;
  std::string lost_why;

  // A Get or Wait the worker waits in, named by the ID its request carried (the reply echoes it).
  struct Pending {
    uint64_t request = 0;
    std::vector<ObjectID> ids;
    absl::Time deadline = absl::InfiniteFuture();
    bool is_wait = false;
    size_t num_returns = 0;
    std::unique_ptr<ObjectWaiter> waiter;  // counts `ids` down
  };
  // The requests it waits in, oldest first. A worker that runs one task at a time waits in one
  // at most (the one of its running task); the call threads of an actor (max_concurrency > 1),
  // and a client's threads, each wait in their own at once.
  std::vector<Pending> pending;
  // Whether it waits rather than runs (kBlocked): its one task waits in a request, or every
  // call running on its call threads does (while one of them runs, it is busy).
  bool Waits() const {
    if (pending.empty()) return false;
    return concurrency <= 1 || pending.size() >= active();
  }
  // Tasks blocked beneath the running one, innermost last: when no other worker can take a
  // ready task (max_workers), a worker blocked in a get runs it inside its wait (see
  // RunWhileBlocked); the blocked task's get and CPUs wait here meanwhile.
  struct Suspended {
    Pending pending;
    double cpus_held = 0;
  };
  std::vector<Suspended> suspended;

  // `assigned` holds the running task, the tasks suspended beneath it, then the queued ones (an
  // actor's call threads: the first `concurrency` run).
  size_t active() const {
    if (concurrency > 1) return std::min(assigned.size(), static_cast<size_t>(concurrency));
    return assigned.empty() ? 0 : 1 + suspended.size();
  }
  size_t queued() const { return assigned.size() - active(); }
  // The running tasks and the queued ones (those a pipeline depth counts).
  size_t load() const { return assigned.size() - suspended.size(); }
  // Blocked in a get that may wait beneath a nested task (see RunWhileBlocked).
  bool CanSuspendItsGet() const;
};

// The workers of a node, by index (decisions and tasks name them by it); a dead worker's slot is
// reused once its process has ended, so that retired and crashed workers do not pile up.
class WorkerPool {
 public:
  using Slots = std::vector<std::unique_ptr<WorkerRecord>>;

  // Adds a worker in the slot of a dead one whose process has ended (no task and no epoll set
  // refers to that record any more), else at the end; sets its index.
  WorkerRecord& Add(std::unique_ptr<WorkerRecord> worker);
  // `worker` no longer takes tasks of the pool: it became an actor's worker or a client.
  void Unpool(const WorkerRecord& worker);
  // The indexes of the workers that take tasks of the pool (pooled()), ascending; dead ones
  // among them until their slot is reused. Dispatch looks at these only, however many actors
  // there are.
  const std::vector<int>& pooled() const { return pooled_; }
  // Workers neither dead nor broken.
  int CountUsable() const;
  // The pids of the workers not dead.
  std::vector<pid_t> Pids() const;
  // Idle workers beyond the first `keep` usable ones (actors' not counted, never retired), idle
  // for `timeout` by `now`, to retire;
  // `next` becomes the time the next one would be due, if sooner.
  std::vector<WorkerRecord*> IdleToRetire(int keep, absl::Duration timeout, absl::Time now,
                                          absl::Time& next) const;

  size_t size() const { return slots_.size(); }
  const std::unique_ptr<WorkerRecord>& operator[](size_t i) const { return slots_[i]; }
  Slots::const_iterator begin() const { return slots_.begin(); }
  Slots::const_iterator end() const { return slots_.end(); }
  void clear() {
    slots_.clear();
    pooled_.clear();
  }

 private:
  Slots slots_;
  std::vector<int> pooled_;
};

}  // namespace ray::core
