// Scheduler internals shared by its source files (scheduler.cc: tables and objects;
// scheduler_dispatch.cc: placing tasks on workers; scheduler_messages.cc: flushing outboxes and
// the worker.capnp decoder; scheduler_requests.cc: workers' gets, waits and lookups;
// scheduler_polling.cc: the event loop; scheduler_workers.cc: the worker pool). Not for other
// users.
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
#include "ray/node/worker_pool.h"
#include "ray/object/object_format.h"
#include "ray/object/status.h"

namespace ray::core {
namespace scheduler_internal {

inline bool IsErrorValue(const std::shared_ptr<const std::string>& value) {
  return value != nullptr &&
         IsError({reinterpret_cast<const uint8_t*>(value->data()), value->size()});
}

inline std::string DoesNotExist(const ObjectID& id) {
  return absl::StrCat("object ", id.Hex(), " does not exist (it was freed or never created)");
}

// The value a get of an object that does not exist returns.
inline std::shared_ptr<const std::string> MissingObjectError(const ObjectID& id) {
  return ErrorObject("ray.get", ErrorTypeName(absl::StatusCode::kNotFound), DoesNotExist(id),
                     TaskID());
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

}  // namespace ray::core
