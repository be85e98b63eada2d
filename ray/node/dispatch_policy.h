// Where the scheduler places ready tasks: a pure function of a snapshot of the workers and the
// ready queue that returns one decision at a time. The scheduler carries each out (sends the
// task, starts the worker) and asks again with a fresh snapshot. No I/O, no clock, no locks.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <span>

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "ray/common/id.h"
#include "ray/node/worker_state.h"

namespace ray::core {

// What the policy needs to know of one worker.
struct WorkerView {
  WorkerState state = WorkerState::kIdle;
  bool broken = false;         // a write to it failed: it gets no more work
  bool steal_pending = false;  // asked to hand back its queued tasks
  size_t load = 0;             // its running task and the ones queued behind it
  size_t queued = 0;           // the queued ones
  size_t nested = 0;           // tasks suspended beneath its running one
  absl::Time front_started;    // when its running task started
  // Blocked in a get with no deadline (not a wait), which may wait beneath a nested task.
  bool can_suspend_its_get = false;
  std::span<const ObjectID> waits_for;  // the objects of that get
};

// A task of the ready queue.
struct ReadyTask {
  TaskID id;
  double num_cpus = 1;
};

struct DispatchSnapshot {
  std::span<const WorkerView> workers;  // decisions name workers by their index here
  double cpus_free = 0;
  // The ready queue, front first: its length, and the task at a position (nullopt for one
  // that no longer exists). The front task exists.
  size_t ready_size = 0;
  absl::FunctionRef<std::optional<ReadyTask>(size_t)> ready_at;
  bool may_start_worker = true;  // false right after a start failed
  absl::Time now;                // for StealFrom
};

struct DispatchDecision {
  enum class Kind {
    kNone,           // nothing more to place for now
    kStartWorker,    // start a worker, then ask again
    kRun,            // the front task starts on idle `worker`, holding `cpus`
    kQueue,          // the front task queues behind the tasks of `worker`
    kNest,           // the task at `position` runs inside blocked `worker`'s get, holding `cpus`
    kFailCannotRun,  // the front task can never run: every worker is nested as deep as allowed
  };
  Kind kind = Kind::kNone;
  int worker = -1;
  size_t position = 0;
  double cpus = 0;
  bool operator==(const DispatchDecision&) const = default;
};

class DispatchPolicy {
 public:
  // Tasks a worker may hold at once: one running, the rest queued behind it.
  static constexpr size_t kPipelineDepth = 16;
  // How long a task runs before an idle worker may take the tasks queued behind it.
  static constexpr absl::Duration kStealAfter = absl::Milliseconds(2);
  // At most this many tasks suspended in one worker under nested ones.
  static constexpr size_t kMaxNesting = 32;

  // `num_cpus`: what the node runs at once; a task asking more runs when all are free.
  DispatchPolicy(double num_cpus, int max_workers)
      : num_cpus_(num_cpus), max_workers_(max_workers) {}

  // What to do with the ready queue's front task (REQUIRES: the queue is not empty):
  // - with its CPUs free: run it on an idle worker, or start one (below max_workers), or run it
  //   inside the get of a blocked worker waiting for its results; when no worker runs, nest a
  //   ready task inside a blocked worker (NestWhileAllBlocked), or fail it if none can move;
  // - else queue it behind the least loaded running worker (below kPipelineDepth);
  // - kNone when it must wait.
  DispatchDecision Next(const DispatchSnapshot& snapshot) const;

  // With a worker idle and nothing ready: the worker, busy for kStealAfter with the most tasks
  // queued behind it, to ask for them back. Short tasks are left alone: their queues drain by
  // themselves, and asking costs more than it saves.
  std::optional<int> StealFrom(const DispatchSnapshot& snapshot) const;

  // CPUs a task asking `num_cpus` holds.
  double CpusFor(double num_cpus) const { return std::min(num_cpus, num_cpus_); }

 private:
  // A blocked worker to run `task` inside its get (below kMaxNesting): one waiting for its
  // results (so nesting follows the program's calls, as a stack does), else, if `or_any`, the
  // one with the fewest tasks nested in it. -1 if none.
  int BlockedWorkerFor(const DispatchSnapshot& snapshot, const TaskID& task, bool or_any) const;
  // Every worker waits in a get and no more may start: a ready task that a worker waits for,
  // else the newest, so that the program's calls unfold depth first.
  std::optional<DispatchDecision> NestWhileAllBlocked(const DispatchSnapshot& snapshot) const;
  // There are usable workers, and every one waits in a get without a deadline, kMaxNesting deep.
  bool NoWorkerCanMove(const DispatchSnapshot& snapshot) const;

  const double num_cpus_;
  const int max_workers_;
};

}  // namespace ray::core
