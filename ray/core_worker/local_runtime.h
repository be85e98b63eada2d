// Local mode: a CoreRuntime that runs every task at once in the calling thread, with objects
// in this process's memory. For debugging and tests (Ray's local_mode): no processes, no
// sockets, stack traces through the task, the same results and errors as the real runtime.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "ray/common/id.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/node/reference_table.h"

namespace ray::core {

// Thread-safe. Submit resolves the arguments, runs the task in the caller's thread (so nested
// tasks simply recurse) and stores its return values before returning their IDs. It follows
// the error object conventions of ray/object/status.h: a task with an error argument does not
// run and returns that error; a failing task returns error objects. Objects live until the
// last RemoveRef (values handed out by Get stay valid as long as their `owner`), counted by the
// node's reference table (ray/node/reference_table.h), so both count alike. Get of an ID that
// this runtime does not hold (freed, or never made here) is NotFound at once, and Wait counts it
// as ready, as the driver's does: in local mode nothing could ever make it appear.
class LocalRuntime final : public CoreRuntime {
 public:
  LocalRuntime();
  ~LocalRuntime() override;
  LocalRuntime(const LocalRuntime&) = delete;
  LocalRuntime& operator=(const LocalRuntime&) = delete;

  absl::StatusOr<std::vector<ObjectID>> Submit(TaskSpec spec) override;
  absl::StatusOr<ObjectID> Put(size_t size, absl::FunctionRef<void(std::span<uint8_t>)> write,
                               const PutOptions& options) override;
  absl::StatusOr<std::vector<ObjectValue>> Get(std::span<const ObjectID> ids,
                                               absl::Duration timeout) override;
  absl::StatusOr<WaitIndices> Wait(std::span<const ObjectID> ids, size_t num_returns,
                                   absl::Duration timeout) override;
  void AddRef(const ObjectID& id) override;
  void RemoveRef(const ObjectID& id) override;
  TaskID CurrentTaskId() const override;
  // Actors here are objects of the driver's (Python's local mode): no names, no kills.
  absl::Status KillActor(const ObjectID&, bool) override {
    return absl::UnimplementedError("local mode cannot kill actors (they live in the driver)");
  }
  absl::StatusOr<std::optional<NamedActor>> LookupActor(const std::string&) override {
    return absl::UnimplementedError("local mode has no named actors");
  }

  // For tests: the number of objects held, and the reference count of one (-1 if not held).
  size_t NumObjects() const;
  int64_t RefCount(const ObjectID& id) const;

  // 64-byte aligned memory of one object (payloads of raw objects stay aligned for views).
  class Buffer;

 private:
  // Adds an object with the caller's reference; it holds one reference to each of `nested`.
  void Store(const ObjectID& id, std::shared_ptr<const Buffer> buffer,
             std::vector<ObjectID> nested);
  // Drops the buffers of the objects the table freed; returns them, to be released unlocked.
  std::vector<std::shared_ptr<const Buffer>> TakeFreed() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Locks mu_; NotFound naming `op` for an ID it does not hold.
  absl::StatusOr<std::vector<ObjectValue>> Lookup(std::span<const ObjectID> ids, const char* op);

  const TaskID driver_task_;
  std::atomic<uint32_t> driver_puts_{0};
  mutable absl::Mutex mu_;
  // References and nested references; an object it frees leaves `buffers_` at once.
  ReferenceTable references_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<ObjectID, std::shared_ptr<const Buffer>> buffers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ray::core
