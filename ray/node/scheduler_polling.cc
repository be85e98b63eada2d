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
#include "ray/common/interrupt_check.h"
#include "ray/node/scheduler.h"
#include "ray/node/scheduler_internal.h"
#include "ray/object/object_format.h"
#include "ray/object/status.h"

namespace ray::core {

using namespace scheduler_internal;  // NOLINT: the scheduler's own helpers

absl::Time Scheduler::NextDeadline() {
  absl::Time earliest = RetireIdleWorkers();
  bool has_idle = false;
  absl::Time steal = absl::InfiniteFuture();  // when a steal is next to consider, if one idles
  for (int i : workers_.pooled()) {
    const Worker& w = *workers_[i];
    has_idle |= w.state == Worker::State::kIdle;
    if (w.queued() > 0 && !w.steal_pending) steal = std::min(steal, w.front_started + kStealAfter);
  }
  if (has_idle) earliest = std::min(earliest, steal);
  for (auto& w : workers_) {
    for (const Worker::Pending& request : w->pending) {
      earliest = std::min(earliest, request.deadline);
    }
    if (w->state != Worker::State::kDead && !w->assigned.empty()) {
      earliest = std::min(earliest, liveness_.StallDeadline(w->heard));
    }
  }
  for (const Node& node : nodes_) {
    if (node.starting > 0) earliest = std::min(earliest, node.starting_since + kWorkerStartTimeout);
  }
  return earliest;
}

void Scheduler::PollOnce(absl::Time deadline, absl::Duration spin) {
  epoll_event events[64];
  int n = 0;
  const absl::Time started = absl::Now();
  for (absl::Time spin_until = std::min(deadline, absl::Now() + spin); n == 0;) {
    bool spinning = absl::Now() < spin_until;
    int timeout_ms = 0;
    if (!spinning) {
      timeout_ms =
          deadline == absl::InfiniteFuture()
              ? -1
              : std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now()) + 1);
    }
    n = epoll_wait(epoll_fd_, events, 64, timeout_ms);
    if (!spinning) break;
  }
  const absl::Time returned = absl::Now();
  std::vector<std::pair<Worker*, std::unique_ptr<ReceivedMessage>>> inbox;
  std::vector<std::pair<Worker*, std::string>> broken;
  std::vector<const NodeProcess*> died;
  std::vector<Worker*> ended;  // lost workers whose process has ended
  for (int i = 0; i < n; ++i) {
    if (events[i].data.ptr == nullptr) {
      uint64_t count;
      (void)!read(wake_fd_, &count, sizeof(count));
      continue;
    }
    auto is_node_process = [&](const std::unique_ptr<NodeProcess>& p) {
      return p.get() == events[i].data.ptr;
    };
    if (auto it = std::find_if(node_processes_.begin(), node_processes_.end(), is_node_process);
        it != node_processes_.end()) {
      died.push_back(it->get());
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, (*it)->pidfd, nullptr);
      continue;
    }
    auto [worker, process_ended] = TaggedWorker(events[i].data.ptr);
    if (process_ended) {
      ended.push_back(worker);
    } else if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
      absl::Status status = worker->connection->stream().ReadAvailable(
          [&](std::unique_ptr<ReceivedMessage> m) { inbox.emplace_back(worker, std::move(m)); });
      if (!status.ok()) broken.emplace_back(worker, std::string(status.message()));
    }
  }
  std::vector<ObjectID> deletes;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    liveness_.Polled(started, deadline, returned);
    if (in_cluster_) {
      AdoptConnections();
      ExpireWorkerStarts();
    }
    if (!died.empty()) {
      // The zygote first: its children (the store among them) die with it.
      const NodeProcess* first = died.front();
      for (const NodeProcess* p : died) {
        if (p->what.find("zygote") != std::string::npos) first = p;
      }
      NodeFailed(absl::StrCat(first->what, " (pid ", first->pid,
                              ") died: the node is gone; call ray::Shutdown (ray.shutdown()) "
                              "and start again"));
    }
    for (auto& [worker, message] : inbox) {
      if (worker->state == Worker::State::kDead) continue;
      try {
        absl::Status handled = HandleMessage(*worker, std::move(message));
        if (!handled.ok()) broken.emplace_back(worker, std::string(handled.message()));
      } catch (const kj::Exception& e) {
        broken.emplace_back(worker, absl::StrCat("malformed message: ", e.getDescription().cStr()));
      }
    }
    for (auto& w : workers_) {
      if (w->broken) broken.emplace_back(w.get(), "its socket failed");
    }
    for (auto& [worker, why] : broken) WorkerDied(*worker, why);
    for (Worker* worker : ended) WorkerEnded(*worker);
    CheckLiveness();
    ServeBlockedWorkers(/*expire=*/true);
    Dispatch();
    FlushWorkers();
    RetireIdleWorkers();
    FreeRemoteCopies();
    deletes = objects_.TakeStoreDeletes();
  }
  if (!deletes.empty()) (void)store_->Delete(deletes);
}

void Scheduler::Run() {
  while (true) {
    absl::Time deadline;
    {
      absl::MutexLock lock(&mu_);
      // A driver thread waiting for objects polls itself (see PollUntil); this thread waits
      // meanwhile, and a little after, in case the driver waits again at once. A wait that
      // ends does not wake it (that was a wake-up per sync Get): it looks every kPollerGrace.
      while (!stopping_ && (poller_busy_ || driver_waiters_ > 0 || absl::Now() < grace_until_)) {
        const bool driver_polls = poller_busy_ || driver_waiters_ > 0;
        poller_cv_.WaitWithDeadline(&mu_, driver_polls ? absl::Now() + kPollerGrace : grace_until_);
      }
      if (stopping_) return;
      poller_busy_ = true;
      thread_polling_ = true;
      deadline = NextDeadline();
    }
    PollOnce(deadline, absl::ZeroDuration());
    absl::MutexLock lock(&mu_);
    poller_busy_ = false;
    thread_polling_ = false;
    objects_changed_.SignalAll();  // a driver thread waiting to poll may now
  }
}

bool Scheduler::PollUntil(absl::FunctionRef<bool()> done, absl::Time deadline) {
  ++driver_waiters_;
  if (thread_polling_) Wake();  // it hands polling over to this thread
  const ScopedInterruptCheck* check = ScopedInterruptCheck::Current();
  absl::Time next_check =
      check != nullptr ? absl::Now() + check->interval() : absl::InfiniteFuture();
  bool met = false;
  while (true) {
    if (done()) {
      met = true;
      break;
    }
    if (stopping_ || absl::Now() >= deadline) break;
    if (absl::Now() >= next_check) {
      mu_.Unlock();
      bool interrupted = check->Interrupted();
      mu_.Lock();
      if (interrupted) break;
      next_check = absl::Now() + check->interval();
      continue;
    }
    if (!poller_busy_) {
      // Poll here: the worker's reply then wakes this thread directly, one wake-up fewer
      // than through the scheduler thread.
      poller_busy_ = true;
      absl::Time poll_deadline = std::min({deadline, next_check, NextDeadline()});
      mu_.Unlock();
      PollOnce(poll_deadline, kDriverSpin);
      mu_.Lock();
      poller_busy_ = false;
      objects_changed_.SignalAll();
      continue;
    }
    objects_changed_.WaitWithDeadline(&mu_, std::min(deadline, next_check));
  }
  if (--driver_waiters_ == 0) grace_until_ = absl::Now() + kPollerGrace;
  return met;
}

}  // namespace ray::core
