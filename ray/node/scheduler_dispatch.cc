#include "absl/strings/str_cat.h"
#include "ray/node/scheduler.h"
#include "ray/node/scheduler_internal.h"
#include "ray/object/status.h"

namespace ray::core {

using namespace scheduler_internal;  // NOLINT: the scheduler's own helpers

DispatchSnapshot Scheduler::SnapshotForDispatch(
    int node, absl::FunctionRef<std::optional<ReadyTask>(size_t)> ready_at, size_t ready_size,
    bool may_start_worker) {
  worker_views_.clear();
  view_workers_.clear();
  for (int i : workers_.pooled()) {  // an actor's worker runs its calls only
    const Worker& w = *workers_[i];
    if (w.node != node) continue;
    WorkerView& view = worker_views_.emplace_back();
    view_workers_.push_back(i);
    view.state = w.state;
    view.broken = w.broken;
    view.steal_pending = w.steal_pending;
    view.load = w.load();
    view.queued = w.queued();
    view.nested = w.suspended.size();
    view.front_started = w.front_started;
    view.can_suspend_its_get = w.CanSuspendItsGet();
    view.waits_for = w.pending.size() == 1 ? std::span<const ObjectID>(w.pending[0].ids)
                                           : std::span<const ObjectID>();
  }
  return {.workers = worker_views_,
          .cpus_free = nodes_[node].cpus_free,
          .ready_size = ready_size,
          .ready_at = ready_at,
          .may_start_worker = may_start_worker,
          .now = absl::Now()};
}

void Scheduler::Dispatch() {
  DispatchActors();
  if (!in_cluster_) {
    DispatchOn(0, 0);
    return;
  }
  PlaceReadyTasks();
  // Only nodes with tasks placed on them: placement leaves room for each (no queue builds up
  // behind a running task to take back), so a node without any has nothing to decide.
  for (size_t n = 0; n < nodes_.size(); ++n) {
    Node& node = nodes_[n];
    if (!node.alive) continue;
    if (tasks_.ReadySize(n + 1) > 0) {
      DispatchOn(static_cast<int>(n), n + 1);
    } else if (node.placed_cpus != 0 || !node.placed_custom.empty()) {
      node.placed_cpus = 0;  // nothing placed waits (tasks that ended there drift the sums)
      node.placed_custom.clear();
    }
  }
}

void Scheduler::DispatchOn(int n, size_t lane) {
  using Kind = DispatchDecision::Kind;
  Node& node = nodes_[n];
  auto ready_at = [&](size_t position) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    TaskRecord* task = tasks_.ReadyAt(position, lane);
    return task == nullptr ? std::nullopt : std::optional<ReadyTask>({task->id, task->num_cpus});
  };
  bool start_failed = false;
  while (true) {
    size_t ready_size = tasks_.ReadySize(lane);
    if (ready_size == 0) {
      node.placed_cpus = 0;  // nothing placed waits (tasks that ended there drift the sums)
      node.placed_custom.clear();
      break;
    }
    bool may_start = !start_failed && node.starting == 0;
    const DispatchDecision decision =
        node.policy.Next(SnapshotForDispatch(n, ready_at, ready_size, may_start));
    if (decision.kind == Kind::kNone) break;
    if (decision.kind == Kind::kStartWorker) {
      start_failed = !SpawnWorker(n).ok();
      continue;
    }
    start_failed = false;
    const int worker_index = decision.worker >= 0 ? view_workers_[decision.worker] : -1;
    TaskRecord* candidate = tasks_.ReadyAt(decision.position, lane);
    if (candidate != nullptr && !candidate->resources.empty()) {
      // Custom resources: held only by a task that starts at once, when they are free.
      if (!PlacementPolicy::Covers(&node.info.resources, candidate->resources)) {
        TaskRecord& task = tasks_.TakeReady(decision.position, lane);
        FailTask(task, ErrorObject(NameOf(task), ErrorTypeName(absl::StatusCode::kInvalidArgument),
                                   "cannot run: no node has the resources it asks for", task.id));
        ServeBlockedWorkers(/*expire=*/false);
        continue;
      }
      if (decision.kind != Kind::kRun ||
          !PlacementPolicy::Covers(&node.custom_free, candidate->resources)) {
        break;
      }
    }
    TaskRecord& task = tasks_.TakeReady(decision.position, lane);
    if (lane != 0) {
      node.placed_cpus -= PlacementPolicy::CpusOn(task.num_cpus, node.info.num_cpus);
      for (const auto& [name, amount] : task.resources) node.placed_custom[name] -= amount;
    }
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
        Worker& worker = *workers_[worker_index];
        worker.MoveTo(Worker::State::kBusy);
        worker.cpus_held = decision.cpus;
        node.cpus_free -= decision.cpus;
        for (const auto& [name, amount] : task.resources) node.custom_free[name] -= amount;
        worker.resources_held = task.resources;
        Assign(worker, task);
        break;
      }
      case Kind::kQueue:
        Assign(*workers_[worker_index], task);
        break;
      case Kind::kNest:
        RunWhileBlocked(*workers_[worker_index], task, decision.cpus);
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
  if (std::optional<int> from =
          node.policy.StealFrom(SnapshotForDispatch(n, ready_at, tasks_.ReadySize(lane), true))) {
    Worker& worker = *workers_[view_workers_[*from]];
    worker.steal_pending = true;
    OutboxOf(worker).return_queued = true;
  }
}

void Scheduler::RunWhileBlocked(Worker& worker, TaskRecord& task, double cpus) {
  worker.suspended.push_back({std::move(worker.pending.front()), worker.cpus_held});
  worker.pending.clear();
  worker.MoveTo(Worker::State::kBusy);
  worker.cpus_held = cpus;
  nodes_[worker.node].cpus_free -= cpus;
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
  if (worker.assigned.size() == 1) {
    RecordStart(worker);
  } else if (worker.assigned.size() <= static_cast<size_t>(worker.concurrency)) {
    RecordCallStart(worker, task.id);  // an actor's call thread is free for it: it starts now
  }
  SendTask(worker, task);
}

void Scheduler::RecordStart(Worker& worker) {
  worker.front_started = absl::Now();
  if (!worker.assigned.empty()) RecordCallStart(worker, worker.assigned.front());
}

void Scheduler::RecordCallStart(Worker& worker, const TaskID& id) {
  if (graph_ != nullptr) {
    graph_->OnStart(id, worker.pid, absl::Now(), static_cast<uint16_t>(worker.node));
  }
}

void Scheduler::SendTask(Worker& worker, TaskRecord& task) {
  OutboxOf(worker);
  worker.connection->AddTask(task);
}

}  // namespace ray::core
