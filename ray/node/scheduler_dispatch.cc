#include <capnp/message.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "ray/common/capnp_bytes.h"
#include "ray/common/capnp_ids.h"
#include "ray/node/scheduler.h"
#include "ray/node/scheduler_internal.h"
#include "ray/object/errors.h"
#include "ray/object/serialization.h"

namespace ray::core {

using namespace scheduler_internal;  // NOLINT: the scheduler's own helpers

void Scheduler::Dispatch() {
  while (!ready_.empty()) {
    auto it = tasks_.find(ready_.front());
    if (it == tasks_.end()) {
      ready_.pop_front();
      continue;
    }
    TaskRecord& task = it->second;
    // A task that needs more CPUs than the node has runs when all of them are free.
    double need = std::min(task.num_cpus, options_.num_cpus);
    Worker* idle = nullptr;
    Worker* least_loaded = nullptr;  // a running worker with room in its queue
    int alive = 0, running = 0;
    for (auto& w : workers_) {
      if (w->state == Worker::State::kDead || w->broken) continue;
      ++alive;
      running += w->state == Worker::State::kBusy;
      if (w->state == Worker::State::kIdle) {
        if (idle == nullptr) idle = w.get();
      } else if (w->state == Worker::State::kBusy && !w->steal_pending &&
                 w->load() < kPipelineDepth &&
                 (least_loaded == nullptr || w->load() < least_loaded->load())) {
        least_loaded = w.get();
      }
    }
    if (need <= cpus_free_ + 1e-9) {
      if (idle == nullptr && alive < options_.max_workers && SpawnWorker().ok()) continue;
      if (idle != nullptr) {
        ready_.pop_front();
        idle->MoveTo(Worker::State::kBusy);
        idle->cpus_held = need;
        cpus_free_ -= need;
        Assign(*idle, task);
        continue;
      }
      // No worker is free and no more may start, but CPUs are: tasks that hold workers wait
      // in gets. A worker waiting for this task's results runs it inside its wait, as a call
      // (else recursive programs would deadlock at max_workers). Otherwise it queues behind a
      // running task (below), whose worker takes it back into its wait if that task then
      // waits for it; and if no worker runs, NestWhileAllBlocked picks one to run.
      if (Worker* waiter = BlockedWorkerFor(task.id, /*or_any=*/false); waiter != nullptr) {
        ready_.pop_front();
        RunWhileBlocked(*waiter, task, need);
        continue;
      }
      if (running == 0 && NestWhileAllBlocked()) continue;
      if (running == 0 && NoWorkerCanMove()) {  // this task would wait forever: say so
        ready_.pop_front();
        FailTask(task, ErrorObject(NameOf(task), "ray::RayError",
                                   absl::StrCat("cannot run: all ", alive,
                                                " workers (max_workers) wait in gets, each with ",
                                                kMaxNesting,
                                                " tasks nested in it (the limit); the program "
                                                "recurses too deep for this node"),
                                   task.id));
        ServeBlockedWorkers(/*expire=*/false);  // the worker waiting for it gets the error
        continue;
      }
    }
    // No CPU (or worker) free: queue the task behind a running one. It starts when that one
    // ends, taking over its CPUs, which saves the round trip per task; an idle worker later
    // takes queued tasks back (see below).
    if (least_loaded == nullptr) break;
    ready_.pop_front();
    Assign(*least_loaded, task);
  }
  // An idle worker and nothing ready: ask the most loaded worker whose running task has taken
  // a while for the tasks queued behind it. (Short tasks are left alone: their queues drain
  // by themselves, and asking would cost more than it saves.)
  bool has_idle = false;
  Worker* most_loaded = nullptr;
  absl::Time now = absl::Now();
  for (auto& w : workers_) {
    if (w->state == Worker::State::kDead || w->broken) continue;
    if (w->state == Worker::State::kIdle) has_idle = true;
    if (w->queued() > 0 && !w->steal_pending && now - w->front_started >= kStealAfter &&
        (most_loaded == nullptr || w->queued() > most_loaded->queued())) {
      most_loaded = w.get();
    }
  }
  if (has_idle && ready_.empty() && most_loaded != nullptr && cpus_free_ > 1e-9) {
    most_loaded->steal_pending = true;
    most_loaded->outbox.return_queued = true;
  }
}

bool Scheduler::Worker::CanSuspendItsGet() const {
  // A suspended request is not looked at: not one with a deadline, nor a wait (which may have
  // its answer long before a nested task ends).
  return state == State::kBlocked && !broken && pending && !pending->is_wait &&
         pending->deadline == absl::InfiniteFuture();
}

Scheduler::Worker* Scheduler::BlockedWorkerFor(const TaskID& task, bool or_any) {
  Worker* best = nullptr;
  bool best_waits_for_it = false;
  for (auto& w : workers_) {
    if (!w->CanSuspendItsGet() || w->suspended.size() >= kMaxNesting) continue;
    bool waits_for_it = std::any_of(w->pending->ids.begin(), w->pending->ids.end(),
                                    [&](const ObjectID& id) { return id.Task() == task; });
    if (best == nullptr || waits_for_it > best_waits_for_it ||
        (waits_for_it == best_waits_for_it && w->suspended.size() < best->suspended.size())) {
      best = w.get();
      best_waits_for_it = waits_for_it;
    }
  }
  return best_waits_for_it || or_any ? best : nullptr;
}

bool Scheduler::NoWorkerCanMove() {
  for (auto& w : workers_) {
    if (w->state == Worker::State::kDead || w->broken) continue;
    // A worker running, or in a wait or a get with a deadline, moves by itself; one that could
    // still take a nested task is not stuck either.
    if (!w->CanSuspendItsGet() || w->suspended.size() < kMaxNesting) return false;
  }
  return true;
}

bool Scheduler::NestWhileAllBlocked() {
  auto nest = [&](std::deque<TaskID>::iterator at, Worker& worker)
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
                    TaskRecord& task = tasks_.at(*at);
                    ready_.erase(at);
                    RunWhileBlocked(worker, task, std::min(task.num_cpus, options_.num_cpus));
                  };
  auto fits = [&](const TaskID& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = tasks_.find(id);
    return it != tasks_.end() &&
           std::min(it->second.num_cpus, options_.num_cpus) <= cpus_free_ + 1e-9;
  };
  // A ready task that a worker waits for, anywhere in the queue.
  for (auto it = ready_.begin(); it != ready_.end(); ++it) {
    if (!fits(*it)) continue;
    if (Worker* waiter = BlockedWorkerFor(*it, /*or_any=*/false); waiter != nullptr) {
      nest(it, *waiter);
      return true;
    }
  }
  // None is waited for: the newest, so that the program's calls unfold depth first.
  for (auto it = ready_.end(); it != ready_.begin();) {
    --it;
    if (!fits(*it)) continue;
    Worker* worker = BlockedWorkerFor(*it, /*or_any=*/true);
    if (worker == nullptr) return false;
    nest(it, *worker);
    return true;
  }
  return false;
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

void Scheduler::SendTask(Worker& worker, TaskRecord& task) {
  if (worker.functions_sent.insert(task.function_key).second) {
    worker.outbox.functions.push_back(task.function_key);
  }
  worker.outbox.tasks.push_back(task.id);
}

}  // namespace ray::core
