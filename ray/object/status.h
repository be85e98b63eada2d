// How the engine (the runtimes in ray/core_worker, the node in ray/node) reports failures:
// absl::Status, never a C++ exception of ray's. Each frontend turns a status into its own
// exception in one place (C++: ray/api/internal/status.h; Python: RaiseStatus in
// ray/python_embed/python_objects.cc), so the same failure is the same error everywhere.
//
// What a code means (the exception: C++ ray::..., Python ray.exceptions.... of the same name):
//   DeadlineExceeded    a Get or Wait timed out                         GetTimeoutError
//   ResourceExhausted   the object store has no room for an object      ObjectStoreFullError
//   NotFound            an object that is gone, or was never made       ObjectLostError
//   Aborted             a task failed: the status carries its error     TaskError
//   (WorkerCrashedError
//                       object (TaskFailure below)                      for
//                       kWorkerCrashedErrorType)
//   Cancelled           ray was shut down (kShutDownMessage)            RayError
//   InvalidArgument, OutOfRange, FailedPrecondition: a misuse           RayError
//   Unavailable, Internal: the node failed (the message says how)       RayError
//   any other code                                                      RayError
//
// Error objects (a TaskErrorInfo serialized with SerializeError, object_format.h), stored in
// place of a task's results; every runtime follows these conventions:
//   - A task that fails stores, as each of its results, the error object of its failure: an
//     invoker's status carries it (TaskFailure), else it is made from the status
//     (TaskErrorInfoOf: the type ErrorTypeName gives, so it names what a frontend would throw).
//   - A task that fails because a task it called failed (Get of an error object, rethrown) stores
//     that error object unchanged: it names the task that failed first, however many levels of
//     tasks it crossed.
//   - A task with an error object among its arguments does not run: each of its results is that
//     error object (the first one, in argument order).
//   - A task whose worker died (after its retries) stores an error object whose exception_type
//     is exactly kWorkerCrashedErrorType.
//   - The runtime's own error, not a task's (a Get of an object that does not exist), has a nil
//     task ID (IsRuntimeError): a frontend raises it as the code its type names (ErrorTypeCode).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "ray/common/id.h"
#include "ray/object/object_format.h"

namespace ray {

// The exception_type of the error object stored for a task whose worker process died.
inline constexpr std::string_view kWorkerCrashedErrorType = "ray::WorkerCrashedError";
// The type name of the error object of an actor's call whose actor is dead (killed, its process
// died past its restarts, its factory failed): the API throws ray::ActorDiedError.
inline constexpr std::string_view kActorDiedErrorType = "ray::ActorDiedError";

// The message of a call into a runtime that is shutting down (or shut down).
inline constexpr char kShutDownMessage[] = "ray was shut down";
inline absl::Status ShutDownError() { return absl::CancelledError(kShutDownMessage); }

// The exception type a frontend throws for `code` (see the table above), as error objects name
// it: "ray::ObjectLostError" for NotFound, "ray::RayError" for a code without its own.
std::string_view ErrorTypeName(absl::StatusCode code);
// The code whose ErrorTypeName is `type` (kUnknown for "ray::RayError" and any other type).
absl::StatusCode ErrorTypeCode(std::string_view type);

// A failed task as a status: Aborted, carrying `info` (serialized) as a payload.
absl::Status TaskFailure(const TaskErrorInfo& info);
// The error object a status carries (TaskFailure), if it carries one.
std::optional<TaskErrorInfo> CarriedErrorObject(const absl::Status& status);

// The error object to store for a task (`function_name`, `task`) that failed with `status`: the
// one the status carries, with the function's name and the task filled in where empty (an
// invoker does not know them); else one made from the status: ErrorTypeName of its code, its
// message, the task, this process.
TaskErrorInfo TaskErrorInfoOf(const absl::Status& status, std::string function_name,
                              const TaskID& task);

// An error object made in this process (its pid), serialized: `type` is ErrorTypeName of a
// failure's code, or a runtime's own (kActorDiedErrorType, kWorkerCrashedErrorType).
std::shared_ptr<const std::string> ErrorObject(std::string function_name, std::string_view type,
                                               std::string message, const TaskID& task);

// True for the runtime's own error (nil task ID), which is no task's failure.
bool IsRuntimeError(const TaskErrorInfo& info);

// REQUIRES: called inside a catch block. A runtime's last resort around code that may throw
// through it (user code in an invoker that did not catch): the error object of the exception
// being handled, with its demangled type and what() ("" if it is not a std::exception).
TaskErrorInfo CaughtExceptionErrorInfo(std::string function_name, const TaskID& task);

}  // namespace ray
