// Scheduler internals shared by its source files (scheduler.cc: tables and objects;
// scheduler_dispatch.cc: placing tasks on workers; scheduler_messages.cc: flushing outboxes and
// the worker.capnp decoder; scheduler_polling.cc: the event loop; scheduler_workers.cc: the
// worker pool). Not for other users.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "ray/node/scheduler.h"
#include "ray/node/worker_connection.h"
#include "ray/node/worker_state.h"
#include "ray/object/errors.h"
#include "ray/object/serialization.h"

namespace ray::core {
namespace scheduler_internal {

inline bool IsErrorValue(const std::shared_ptr<const std::string>& value) {
  return value != nullptr &&
         IsError({reinterpret_cast<const uint8_t*>(value->data()), value->size()});
}

inline std::shared_ptr<const std::string> ErrorObject(const std::string& function_name,
                                                      const std::string& type,
                                                      const std::string& message,
                                                      const TaskID& task) {
  TaskErrorInfo info;
  info.function_name = function_name;
  info.exception_type = type;
  info.message = message;
  info.task_id = task.Hex();
  info.pid = getpid();
  return std::make_shared<const std::string>(SerializeError(info));
}

inline std::string DoesNotExist(const ObjectID& id) {
  return absl::StrCat("object ", id.Hex(), " does not exist (it was freed or never created)");
}

// The value a get of an object that does not exist returns.
inline std::shared_ptr<const std::string> MissingObjectError(const ObjectID& id) {
  return ErrorObject("ray.get", "ray::RayError", DoesNotExist(id), TaskID());
}

// Epoll tags: a worker's socket is tagged with its record's address, its process's pidfd with
// that address plus one (records are aligned, so the low bit tells them apart).
inline void* SocketTag(Scheduler::Worker* worker) { return worker; }
inline void* ProcessTag(Scheduler::Worker* worker) { return reinterpret_cast<char*>(worker) + 1; }
// The worker an epoll tag names, and whether the event is its process's end.
inline std::pair<Scheduler::Worker*, bool> TaggedWorker(void* tag) {
  auto address = reinterpret_cast<uintptr_t>(tag);
  return {reinterpret_cast<Scheduler::Worker*>(address & ~uintptr_t{1}), (address & 1) != 0};
}

}  // namespace scheduler_internal

struct Scheduler::Worker {
  using State = WorkerState;
  // Every change of `state` goes through here (checked in debug builds).
  void MoveTo(State to) {
    assert(CanMoveWorker(state, to));
    state = to;
  }
  int index = 0;
  pid_t pid = 0;
  // Its process, until it has ended (while dead, its record is not reused: see WorkerDied).
  Pidfd process;
  std::unique_ptr<WorkerConnection> connection;  // its socket; null once dead
  State state = State::kIdle;
  std::deque<TaskID> assigned;  // sent and not done; the front one is running
  double cpus_held = 0;
  absl::flat_hash_set<ObjectID> held;   // objects this process holds a reference to
  bool broken = false;                  // a write failed: the scheduler thread retires it
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

  // A Get or Wait the worker is blocked in.
  struct Pending {
    std::vector<ObjectID> ids;
    absl::Time deadline = absl::InfiniteFuture();
    bool is_wait = false;
    size_t num_returns = 0;
    std::unique_ptr<ObjectWaiter> waiter;  // counts `ids` down
  };
  std::optional<Pending> pending;
  // Tasks blocked beneath the running one, innermost last: when no other worker can take a
  // ready task (max_workers), a worker blocked in a get runs it inside its wait (see
  // RunWhileBlocked); the blocked task's get and CPUs wait here meanwhile.
  struct Suspended {
    Pending pending;
    double cpus_held = 0;
  };
  std::vector<Suspended> suspended;

  // `assigned` holds the running task, the tasks suspended beneath it, then the queued ones.
  size_t active() const { return assigned.empty() ? 0 : 1 + suspended.size(); }
  size_t queued() const { return assigned.size() - active(); }
  // The running tasks and the queued ones (those a pipeline depth counts).
  size_t load() const { return assigned.size() - suspended.size(); }
  // Blocked in a get that may wait beneath a nested task (see RunWhileBlocked).
  bool CanSuspendItsGet() const;
};

}  // namespace ray::core
