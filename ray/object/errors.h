// The exceptions of the public API (ray/api.h re-exports them), and the conventions that turn a
// task's exception into an error object and an error object back into an exception. They live
// beneath the API so that runtimes (local mode, the driver, workers) can throw and record them.
//
// Error object conventions (every runtime follows them):
//   - A task that throws stores, in place of each of its return values, an error object
//     (SerializeError of a TaskErrorInfo, ray/object/object_format.h) made by
//     CurrentExceptionErrorInfo() inside the catch block.
//   - A task that throws a ray::TaskError or ray::WorkerCrashedError (typically because it
//     called Get on a failed object) stores that exception's TaskErrorInfo unchanged: the error
//     names the task that failed first, its exception type and message, however many levels of
//     tasks it crossed.
//   - A task with an error object among its arguments does not run: each of its return values
//     is that error object (the first one, in argument order).
//   - A task whose worker died (after its retries) stores an error object whose exception_type
//     is exactly kWorkerCrashedErrorType.
//   - Get of an error object throws ThrowErrorObject(info): WorkerCrashedError for
//     kWorkerCrashedErrorType, else TaskError.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "ray/common/id.h"
#include "ray/object/object_format.h"

namespace ray {

// The exception_type of the error object stored for a task whose worker process died.
inline constexpr std::string_view kWorkerCrashedErrorType = "ray::WorkerCrashedError";

// Base of every exception libray throws: wrong use of the API, a failed task, a timeout.
class RayError : public std::runtime_error {
 public:
  explicit RayError(const std::string& message) : std::runtime_error(message) {}
};

// What a call into a runtime that is shutting down (or shut down) throws, as a RayError.
inline constexpr char kShutDownMessage[] = "ray was shut down";

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

// An object that was made is no longer in the node's store: it was deleted (by its owner, or
// its creator), or its creator died before sealing it.
class ObjectLostError : public RayError {
 public:
  explicit ObjectLostError(const std::string& message) : RayError(message) {}
};

// Throws the exception that an error object stands for (see the conventions above).
[[noreturn]] void ThrowErrorObject(TaskErrorInfo info);

// Throws `status` (not ok) from the object store: ObjectStoreFullError when it is
// ResourceExhausted, else RayError.
[[noreturn]] void ThrowStoreError(const absl::Status& status);
// Throws for a failed read from the store of an object the scheduler said was there (read
// with StoreClient::IfAbsent::kFail): GetTimeoutError when the deadline passed before it was
// sealed, ObjectLostError when it is gone, else as ThrowStoreError.
[[noreturn]] void ThrowStoreReadError(const absl::Status& status, const ObjectID& id);

namespace core {

// REQUIRES: called inside a catch block (`catch (...)`; outside one it terminates the process).
// The TaskErrorInfo of the exception being handled.
// A TaskError or WorkerCrashedError gives its own info unchanged (the first failure), except
// that a TaskError without a task ID or function name (an invoker's own, as for Python
// functions) gets `task` and `function_name`; anything else gives {function_name, demangled type of
// the exception, what() (or "" if it is not a std::exception), task.Hex(), getpid()}.
TaskErrorInfo CurrentExceptionErrorInfo(std::string function_name, const TaskID& task);

}  // namespace core
}  // namespace ray
