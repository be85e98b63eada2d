// The exceptions of the public API (ray/api.h). The runtimes report failures as statuses
// (ray/object/status.h); the API turns them into these in one place (internal/status.h).
#pragma once

#include <stdexcept>
#include <string>

#include "ray/object/object_format.h"
#include "ray/object/status.h"  // IWYU pragma: export (kWorkerCrashedErrorType, kShutDownMessage)

namespace ray {

// Base of every exception libray throws: wrong use of the API, a failed task, a timeout.
class RayError : public std::runtime_error {
 public:
  explicit RayError(const std::string& message) : std::runtime_error(message) {}
};

// A task threw (or one it depended on did): Get of its result throws this. what() is
// info().ToString(): "std::runtime_error in add(int, int) (task 1a2b..., pid 123): boom".
class TaskError : public RayError {
 public:
  explicit TaskError(TaskErrorInfo info);

  // The remote function that threw ("add(int, int)"; the first one to fail).
  const std::string& function_name() const { return info_.function_name; }
  // Demangled type of what it threw ("std::runtime_error").
  const std::string& exception_type() const { return info_.exception_type; }
  // The original what().
  const std::string& message() const { return info_.message; }
  // Hex ID of the task that threw.
  const std::string& task_id() const { return info_.task_id; }
  int64_t pid() const { return info_.pid; }
  const TaskErrorInfo& info() const { return info_; }

 private:
  TaskErrorInfo info_;
};

// The worker running a task died (and retries, if any, did too).
class WorkerCrashedError : public RayError {
 public:
  explicit WorkerCrashedError(TaskErrorInfo info);

  const std::string& function_name() const { return info_.function_name; }
  const std::string& message() const { return info_.message; }
  const std::string& task_id() const { return info_.task_id; }
  const TaskErrorInfo& info() const { return info_; }

 private:
  TaskErrorInfo info_;
};

// An actor's call could not run: its actor is dead (killed, its process died past its
// max_restarts, or its factory failed), or died while running it past its max_task_retries.
class ActorDiedError : public RayError {
 public:
  explicit ActorDiedError(TaskErrorInfo info);

  const std::string& function_name() const { return info_.function_name; }
  const std::string& message() const { return info_.message; }
  const std::string& task_id() const { return info_.task_id; }
  const TaskErrorInfo& info() const { return info_; }

 private:
  TaskErrorInfo info_;
};

// Get (or GetView) with a timeout: not every object existed in time.
class GetTimeoutError : public RayError {
 public:
  explicit GetTimeoutError(const std::string& message) : RayError(message) {}
};

// The object store has no room for an object (it is larger than the store, or everything in
// the store is pinned).
class ObjectStoreFullError : public RayError {
 public:
  explicit ObjectStoreFullError(const std::string& message) : RayError(message) {}
};

// An object that is gone: it was freed or never made, it was deleted from the node's store, or
// its creator died before sealing it.
class ObjectLostError : public RayError {
 public:
  explicit ObjectLostError(const std::string& message) : RayError(message) {}
};

}  // namespace ray
