#include "ray/node/dispatch_policy.h"

#include <algorithm>

namespace ray::core {
namespace {

constexpr double kCpuSlack = 1e-9;  // CPUs are fractions: sums drift

bool Usable(const WorkerView& w) { return IsUsable(w.state, w.broken); }

}  // namespace

DispatchDecision DispatchPolicy::Next(const DispatchSnapshot& snapshot) const {
  using Kind = DispatchDecision::Kind;
  const ReadyTask front = *snapshot.ready_at(0);
  const double need = CpusFor(front.num_cpus);
  int idle = -1;
  int least_loaded = -1;  // a running worker with room in its queue
  int alive = 0, running = 0;
  for (int i = 0; i < static_cast<int>(snapshot.workers.size()); ++i) {
    const WorkerView& w = snapshot.workers[i];
    if (!Usable(w)) continue;
    ++alive;
    running += w.state == WorkerState::kBusy;
    if (w.state == WorkerState::kIdle) {
      if (idle < 0) idle = i;
    } else if (w.state == WorkerState::kBusy && !w.steal_pending && w.load < kPipelineDepth &&
               (least_loaded < 0 || w.load < snapshot.workers[least_loaded].load)) {
      least_loaded = i;
    }
  }
  if (need <= snapshot.cpus_free + kCpuSlack) {
    if (idle < 0 && alive < max_workers_ && snapshot.may_start_worker) {
      return {.kind = Kind::kStartWorker};
    }
    if (idle >= 0) return {.kind = Kind::kRun, .worker = idle, .cpus = need};
    // No worker is free and no more may start, but CPUs are: tasks that hold workers wait in
    // gets. A worker waiting for this task's results runs it inside its wait, as a call (else
    // recursive programs would deadlock at max_workers). Otherwise it queues behind a running
    // task (below), whose worker takes it back into its wait if that task then waits for it;
    // and if no worker runs, one of the blocked ones runs a ready task.
    if (int waiter = BlockedWorkerFor(snapshot, front.id, /*or_any=*/false); waiter >= 0) {
      return {.kind = Kind::kNest, .worker = waiter, .position = 0, .cpus = need};
    }
    if (running == 0) {
      if (auto nest = NestWhileAllBlocked(snapshot)) return *nest;
      if (NoWorkerCanMove(snapshot)) return {.kind = Kind::kFailCannotRun};
    }
  }
  // No CPU (or worker) free: queue the task behind a running one. It starts when that one
  // ends, taking over its CPUs, which saves the round trip per task.
  if (least_loaded < 0) return {};
  return {.kind = Kind::kQueue, .worker = least_loaded};
}

std::optional<int> DispatchPolicy::StealFrom(const DispatchSnapshot& snapshot) const {
  bool has_idle = false;
  int most_loaded = -1;
  for (int i = 0; i < static_cast<int>(snapshot.workers.size()); ++i) {
    const WorkerView& w = snapshot.workers[i];
    if (!Usable(w)) continue;
    if (w.state == WorkerState::kIdle) has_idle = true;
    if (w.queued > 0 && !w.steal_pending && snapshot.now - w.front_started >= kStealAfter &&
        (most_loaded < 0 || w.queued > snapshot.workers[most_loaded].queued)) {
      most_loaded = i;
    }
  }
  if (has_idle && snapshot.ready_size == 0 && most_loaded >= 0 && snapshot.cpus_free > kCpuSlack) {
    return most_loaded;
  }
  return std::nullopt;
}

int DispatchPolicy::BlockedWorkerFor(const DispatchSnapshot& snapshot, const TaskID& task,
                                     bool or_any) const {
  int best = -1;
  bool best_waits_for_it = false;
  for (int i = 0; i < static_cast<int>(snapshot.workers.size()); ++i) {
    const WorkerView& w = snapshot.workers[i];
    if (!w.can_suspend_its_get || w.nested >= kMaxNesting) continue;
    bool waits_for_it = std::any_of(w.waits_for.begin(), w.waits_for.end(),
                                    [&](const ObjectID& id) { return id.Task() == task; });
    if (best < 0 || waits_for_it > best_waits_for_it ||
        (waits_for_it == best_waits_for_it && w.nested < snapshot.workers[best].nested)) {
      best = i;
      best_waits_for_it = waits_for_it;
    }
  }
  return best_waits_for_it || or_any ? best : -1;
}

std::optional<DispatchDecision> DispatchPolicy::NestWhileAllBlocked(
    const DispatchSnapshot& snapshot) const {
  auto fits = [&](size_t position) -> std::optional<ReadyTask> {
    std::optional<ReadyTask> task = snapshot.ready_at(position);
    if (!task || CpusFor(task->num_cpus) > snapshot.cpus_free + kCpuSlack) return std::nullopt;
    return task;
  };
  auto nest = [&](size_t position, const ReadyTask& task, int worker) {
    return DispatchDecision{.kind = DispatchDecision::Kind::kNest,
                            .worker = worker,
                            .position = position,
                            .cpus = CpusFor(task.num_cpus)};
  };
  // A ready task that a worker waits for, anywhere in the queue.
  for (size_t i = 0; i < snapshot.ready_size; ++i) {
    std::optional<ReadyTask> task = fits(i);
    if (!task) continue;
    if (int waiter = BlockedWorkerFor(snapshot, task->id, /*or_any=*/false); waiter >= 0) {
      return nest(i, *task, waiter);
    }
  }
  // None is waited for: the newest, so that the program's calls unfold depth first.
  for (size_t i = snapshot.ready_size; i-- > 0;) {
    std::optional<ReadyTask> task = fits(i);
    if (!task) continue;
    int worker = BlockedWorkerFor(snapshot, task->id, /*or_any=*/true);
    if (worker < 0) return std::nullopt;
    return nest(i, *task, worker);
  }
  return std::nullopt;
}

bool DispatchPolicy::NoWorkerCanMove(const DispatchSnapshot& snapshot) const {
  bool any = false;  // with none, one may start (a node's first ones may be on their way)
  for (const WorkerView& w : snapshot.workers) {
    if (!Usable(w)) continue;
    any = true;
    // A worker running, or in a wait or a get with a deadline, moves by itself; one that could
    // still take a nested task is not stuck either.
    if (!w.can_suspend_its_get || w.nested < kMaxNesting) return false;
  }
  return any;
}

}  // namespace ray::core
