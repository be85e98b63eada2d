#include "ray/object/errors.h"

#include <cxxabi.h>
#include <unistd.h>

#include <exception>
#include <typeinfo>
#include <utility>

namespace ray {

TaskError::TaskError(TaskErrorInfo info) : RayError(info.ToString()), info_(std::move(info)) {}

WorkerCrashedError::WorkerCrashedError(TaskErrorInfo info)
    : RayError(info.ToString()), info_(std::move(info)) {}

void ThrowErrorObject(TaskErrorInfo info) {
  if (info.exception_type == kWorkerCrashedErrorType) throw WorkerCrashedError(std::move(info));
  throw TaskError(std::move(info));
}

void ThrowStoreError(const absl::Status& status) {
  std::string message(status.message());
  if (absl::IsResourceExhausted(status)) throw ObjectStoreFullError(message);
  throw RayError(message);
}

void ThrowStoreReadError(const absl::Status& status, const ObjectID& id) {
  if (absl::IsDeadlineExceeded(status)) {
    throw GetTimeoutError("Get timed out: object " + id.Hex() +
                          " was not sealed in the node's store in time");
  }
  if (absl::IsNotFound(status)) {
    throw ObjectLostError("object " + id.Hex() +
                          " is no longer in the node's store (it was deleted, or the process "
                          "that made it died before it was written)");
  }
  ThrowStoreError(status);
}

namespace core {

TaskErrorInfo CurrentExceptionErrorInfo(std::string function_name, const TaskID& task) {
  TaskErrorInfo info;
  try {
    throw;
  } catch (const TaskError& e) {
    info = e.info();
    if (info.task_id.empty()) info.task_id = task.Hex();  // an invoker's own error
    if (info.function_name.empty()) info.function_name = std::move(function_name);
    return info;
  } catch (const WorkerCrashedError& e) {
    return e.info();
  } catch (const std::exception& e) {
    info.message = e.what();
  } catch (...) {
  }
  const std::type_info* type = abi::__cxa_current_exception_type();
  info.exception_type = type != nullptr ? DemangleTypeName(type->name()) : "unknown exception";
  info.function_name = std::move(function_name);
  info.task_id = task.Hex();
  info.pid = getpid();
  return info;
}

}  // namespace core
}  // namespace ray
