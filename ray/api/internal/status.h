// The one place where the C++ API turns the runtimes' statuses (ray/object/status.h) into its
// exceptions (ray/api/errors.h), and its invokers turn exceptions back into statuses. Not for
// users to include.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ray/api/errors.h"
#include "ray/object/object_format.h"

namespace ray::internal {

// Throws the exception `status` (not ok) stands for: the task's error it carries (as
// ThrowErrorObject), else by its code: GetTimeoutError, ObjectStoreFullError, ObjectLostError,
// or RayError.
[[noreturn]] void ThrowStatus(const absl::Status& status);

// What ray::ExitActor throws to end the running call (which fails with ActorDiedError).
struct ActorExit {};

inline void ThrowIfError(const absl::Status& status) {
  if (!status.ok()) [[unlikely]]
    ThrowStatus(status);
}

template <typename T>
T ValueOrThrow(absl::StatusOr<T> result) {
  if (!result.ok()) [[unlikely]]
    ThrowStatus(result.status());
  return *std::move(result);
}

// Throws what an error object stands for: WorkerCrashedError for kWorkerCrashedErrorType, the
// runtime's own error as the status its type names (IsRuntimeError), else TaskError.
[[noreturn]] void ThrowErrorObject(TaskErrorInfo info);

// For a call whose failure is not the runtime's (a session that does not start, a graph not
// written): RayError "`api`: message", whatever the code.
[[noreturn]] void ThrowCallError(std::string_view api, const absl::Status& status);

// REQUIRES: called inside a catch block (`catch (...)`; outside one it terminates the process).
// The error object of the exception being handled, as an invoker reports it: a TaskError's or
// WorkerCrashedError's own (the first failure); anything else gives {demangled type of the
// exception, what() (or "" if it is not a std::exception), this process}, with no function name
// or task, which the runtime fills in.
TaskErrorInfo CurrentExceptionErrorInfo();
// The same as a failed task's status (TaskFailure), which invokers return.
absl::Status CurrentExceptionStatus();

}  // namespace ray::internal
