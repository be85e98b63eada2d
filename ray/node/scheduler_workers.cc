// The worker pool: starting workers, losing them (killed, and their tasks retried once the
// process has ended), noticing stalled ones, retiring idle ones.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ray/node/scheduler.h"
#include "ray/node/scheduler_internal.h"
#include "ray/object/status.h"

namespace ray::core {

using namespace scheduler_internal;  // NOLINT: the scheduler's own helpers

absl::Status Scheduler::SpawnWorker(int node, int* index) {
  if (node != 0) {
    Node& remote = nodes_[node];
    if (!hooks_.start_workers) return absl::FailedPreconditionError("left the cluster");
    // As many as it has CPUs less its workers (they connect within a second or so).
    int have = 0;
    for (const auto& w : workers_) have += w->node == node && w->state != Worker::State::kDead;
    AskWorkers(node, std::max(1, static_cast<int>(remote.info.num_cpus) - have));
    return absl::OkStatus();
  }
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return absl::InternalError(absl::StrCat("socketpair: ", std::strerror(errno)));
  }
  absl::StatusOr<SpawnedProcess> process = spawn_worker_(fds[1]);
  if (!process.ok()) {
    close(fds[0]);
    return process.status();
  }
  auto worker = std::make_unique<Worker>();
  worker->pid = process->pid;
  worker->process = std::move(process->pidfd);
  worker->connection = std::make_unique<WorkerConnection>(fds[0]);
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = SocketTag(worker.get());
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fds[0], &event);
  Worker& added = workers_.Add(std::move(worker));  // rescanned by whoever calls this
  if (index != nullptr) *index = added.index;
  return absl::OkStatus();
}

void Scheduler::AskWorkers(int n, int count) {
  Node& node = nodes_[n];
  if (node.starting == 0) node.starting_since = absl::Now();
  node.starting += count;
  hooks_.start_workers(node.info, count);
}

std::vector<pid_t> Scheduler::WorkerPids() {
  absl::MutexLock lock(&mu_);
  return workers_.Pids();
}

void Scheduler::WorkerDied(Worker& worker, const std::string& why, bool kill) {
  if (worker.state == Worker::State::kDead) return;
  bool was_running =
      worker.state == Worker::State::kBusy || worker.state == Worker::State::kBlocked;
  if (worker.node >= 0) ReleaseResources(worker);
  worker.MoveTo(Worker::State::kDead);
  worker.pending.clear();
  worker.lost_running = was_running ? worker.active() : 0;  // the front one and those beneath
  worker.suspended.clear();
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, worker.connection->stream().fd(), nullptr);
  worker.connection.reset();  // closes the socket: a worker still alive exits
  if (kill) worker.process.Kill();
  worker.lost_tasks = std::move(worker.assigned);
  worker.assigned.clear();
  worker.lost_why = why;
  for (const TaskID& id : worker.lost_tasks) {
    if (TaskRecord* task = tasks_.Find(id)) {
      task->worker = -1;
      task->run_while_blocked = false;
    }
  }
  for (const ObjectID& id : worker.held) {
    if (!objects_.Contains(id)) continue;
    // An object one of its tasks made (a put) stays until that task ends: its next attempt
    // finds it as it was, in the store too (see CreateOrFindStored in
    // ray/core_worker/new_object.h).
    if (TaskRecord* task = tasks_.Find(id.Task());
        task != nullptr && std::find(worker.lost_tasks.begin(), worker.lost_tasks.end(),
                                     id.Task()) != worker.lost_tasks.end()) {
      task->nested_refs.push_back(id);  // the reference moves to the task
      continue;
    }
    objects_.RemoveRef(id);
  }
  worker.held.clear();
  if (!worker.actor.IsNil()) ActorWorkerLost(worker, why);
  if (worker.lost_tasks.empty()) {
    worker.process.Reset();
    return;
  }
  // Its tasks run again once the process has ended, never while it may still write files or
  // store objects. (Its connection to the store is closed by then too; the store may not have
  // dropped it yet, which the next attempt's create allows for: see worker.cc.)
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = ProcessTag(&worker);
  if (!worker.process.valid() ||
      epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, worker.process.get(), &event) != 0) {
    WorkerEnded(worker);
  }
}

void Scheduler::WorkerEnded(Worker& worker) {
  if (worker.process.valid()) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, worker.process.get(), nullptr);
    worker.process.Reset();  // the slot may be reused from now on
  }
  std::deque<TaskID> lost = std::move(worker.lost_tasks);
  worker.lost_tasks.clear();
  if (!worker.actor.IsNil()) {
    ActorWorkerEnded(worker, std::move(lost));
    return;
  }
  for (size_t i = lost.size(); i-- > 0;) {  // keep their order at the queue's front
    TaskRecord* found = tasks_.Find(lost[i]);
    if (found == nullptr) continue;  // failed meanwhile (the node broke)
    TaskRecord& task = *found;
    if (i < worker.lost_running && --task.retries_left < 0) {
      // What the dead attempt stored is no one's: its results are this error.
      for (int r = 1; r <= task.num_returns; ++r) {
        objects_.QueueStoreDelete(ObjectID::ForReturn(task.id, r));
      }
      std::string message = absl::StrCat("the worker (pid ", worker.pid, ") running ", NameOf(task),
                                         " died: ", worker.lost_why, "; no retries left");
      FailTask(task, ErrorObject(NameOf(task), kWorkerCrashedErrorType, message, task.id));
    } else {
      tasks_.ReturnReady(task.id);
    }
  }
}

void Scheduler::CheckLiveness() {
  absl::Time now = absl::Now();
  for (auto& w : workers_) {
    Worker& worker = *w;
    if (worker.state == Worker::State::kDead || worker.broken || worker.assigned.empty() ||
        !liveness_.Stalled(worker.heard, now)) {
      continue;
    }
    // A last look at its socket: a message may wait there unread (a poll takes 64 events).
    std::vector<std::unique_ptr<ReceivedMessage>> inbox;
    absl::Status read = worker.connection->stream().ReadAvailable(
        [&](std::unique_ptr<ReceivedMessage> m) { inbox.push_back(std::move(m)); });
    try {
      for (auto& message : inbox) {
        absl::Status handled = HandleMessage(worker, std::move(message));
        if (!handled.ok()) read = absl::DataLossError(handled.message());
        if (!read.ok()) break;
      }
    } catch (const kj::Exception& e) {
      read = absl::DataLossError(absl::StrCat("malformed message: ", e.getDescription().cStr()));
    }
    if (!read.ok()) {
      WorkerDied(worker, std::string(read.message()));
    } else if (inbox.empty()) {
      WorkerDied(worker, absl::StrCat("stalled: it sent nothing for ",
                                      absl::FormatDuration(liveness_.stall_timeout()),
                                      " while it held tasks (killed)"));
    }
  }
}

absl::Time Scheduler::RetireIdleWorkers() {
  absl::Time next = absl::InfiniteFuture();
  for (Worker* worker : workers_.IdleToRetire(options_.num_workers, options_.idle_worker_timeout,
                                              absl::Now(), next)) {
    WorkerDied(*worker, "idle", /*kill=*/false);  // it exits when its socket closes
  }
  return next;
}

}  // namespace ray::core
