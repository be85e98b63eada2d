#include "absl/strings/str_cat.h"
#include "ray/node/scheduler.h"
#include "ray/node/scheduler_internal.h"
#include "ray/object/status.h"

namespace ray::core {

using namespace scheduler_internal;  // NOLINT: the scheduler's own helpers

DispatchSnapshot Scheduler::SnapshotForDispatch(
    absl::FunctionRef<std::optional<ReadyTask>(size_t)> ready_at, bool may_start_worker) {
  worker_views_.resize(workers_.size());
  for (size_t i = 0; i < workers_.size(); ++i) {
    const Worker& w = *workers_[i];
    WorkerView& view = worker_views_[i];
    view.state = w.state;
    view.broken = w.broken;
    view.steal_pending = w.steal_pending;
    view.load = w.load();
    view.queued = w.queued();
    view.nested = w.suspended.size();
    view.front_started = w.front_started;
    view.can_suspend_its_get = w.CanSuspendItsGet();
    view.waits_for =
        w.pending ? std::span<const ObjectID>(w.pending->ids) : std::span<const ObjectID>();
  }
  return {.workers = worker_views_,
          .cpus_free = cpus_free_,
          .ready_size = tasks_.ReadySize(),
          .ready_at = ready_at,
          .may_start_worker = may_start_worker,
          .now = absl::Now()};
}

void Scheduler::Dispatch() {
  using Kind = DispatchDecision::Kind;
  auto ready_at = [&](size_t position) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    TaskRecord* task = tasks_.ReadyAt(position);
    return task == nullptr ? std::nullopt : std::optional<ReadyTask>({task->id, task->num_cpus});
  };
  bool start_failed = false;
  while (true) {
    if (tasks_.ReadySize() == 0) break;
    const DispatchDecision decision = policy_.Next(SnapshotForDispatch(ready_at, !start_failed));
    if (decision.kind == Kind::kNone) break;
    if (decision.kind == Kind::kStartWorker) {
      start_failed = !SpawnWorker().ok();
      continue;
    }
    start_failed = false;
    TaskRecord& task = tasks_.TakeReady(decision.position);
    if (decision.kind == Kind::kRun || decision.kind == Kind::kQueue ||
        decision.kind == Kind::kNest) {
      if (absl::Status fitted = FitArgumentsInline(task); !fitted.ok()) {
        FailTask(task, ErrorObject(NameOf(task), ErrorTypeName(fitted.code()),
                                   absl::StrCat("an argument could not be copied to the store for "
                                                "its worker: ",
                                                fitted.message()),
                                   task.id));
        ServeBlockedWorkers(/*expire=*/false);  // a worker waiting for it gets the error
        continue;
      }
    }
    switch (decision.kind) {
      case Kind::kRun: {
        Worker& worker = *workers_[decision.worker];
        worker.MoveTo(Worker::State::kBusy);
        worker.cpus_held = decision.cpus;
        cpus_free_ -= decision.cpus;
        Assign(worker, task);
        break;
      }
      case Kind::kQueue:
        Assign(*workers_[decision.worker], task);
        break;
      case Kind::kNest:
        RunWhileBlocked(*workers_[decision.worker], task, decision.cpus);
        break;
      case Kind::kFailCannotRun: {  // the task would wait forever: say so
        int alive = workers_.CountUsable();
        FailTask(
            task,
            ErrorObject(NameOf(task), ErrorTypeName(absl::StatusCode::kFailedPrecondition),
                        absl::StrCat("cannot run: all ", alive,
                                     " workers (max_workers) wait in gets, each with ", kMaxNesting,
                                     " tasks nested in it (the limit); the program "
                                     "recurses too deep for this node"),
                        task.id));
        ServeBlockedWorkers(/*expire=*/false);  // the worker waiting for it gets the error
        break;
      }
      case Kind::kNone:
      case Kind::kStartWorker:
        break;
    }
  }
  // An idle worker and nothing ready: ask a worker for the tasks queued behind a long one.
  if (std::optional<int> from = policy_.StealFrom(SnapshotForDispatch(ready_at, true))) {
    workers_[*from]->steal_pending = true;
    workers_[*from]->connection->outbox().return_queued = true;
  }
}

void Scheduler::RunWhileBlocked(Worker& worker, TaskRecord& task, double cpus) {
  worker.suspended.push_back({*std::move(worker.pending), worker.cpus_held});
  worker.pending.reset();
  worker.MoveTo(Worker::State::kBusy);
  worker.cpus_held = cpus;
  cpus_free_ -= cpus;
  task.worker = worker.index;
  task.run_while_blocked = true;
  worker.assigned.push_front(task.id);  // the front one runs
  RecordStart(worker);
  SendTask(worker, task);
}

void Scheduler::Assign(Worker& worker, TaskRecord& task) {
  if (worker.assigned.empty()) worker.heard = absl::Now();  // silence counts from now on
  task.worker = worker.index;
  worker.assigned.push_back(task.id);
  if (worker.assigned.size() == 1) RecordStart(worker);
  SendTask(worker, task);
}

void Scheduler::RecordStart(Worker& worker) {
  worker.front_started = absl::Now();
  if (graph_ != nullptr && !worker.assigned.empty()) {
    graph_->OnStart(worker.assigned.front(), worker.pid, absl::Now());
  }
}

void Scheduler::SendTask(Worker& worker, TaskRecord& task) { worker.connection->AddTask(task); }

}  // namespace ray::core
