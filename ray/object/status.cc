#include "ray/object/status.h"

#include <cxxabi.h>
#include <unistd.h>

#include <exception>
#include <typeinfo>
#include <utility>

#include "ray/object/object_format.h"

namespace ray {
namespace {

// Where TaskFailure keeps the error object in a status.
constexpr char kErrorObjectPayload[] = "type.libray/ray.TaskErrorInfo";

constexpr std::string_view kRayErrorType = "ray::RayError";

}  // namespace

std::string_view ErrorTypeName(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kDeadlineExceeded:
      return "ray::GetTimeoutError";
    case absl::StatusCode::kResourceExhausted:
      return "ray::ObjectStoreFullError";
    case absl::StatusCode::kNotFound:
      return "ray::ObjectLostError";
    default:
      return kRayErrorType;
  }
}

absl::StatusCode ErrorTypeCode(std::string_view type) {
  for (absl::StatusCode code :
       {absl::StatusCode::kDeadlineExceeded, absl::StatusCode::kResourceExhausted,
        absl::StatusCode::kNotFound}) {
    if (ErrorTypeName(code) == type) return code;
  }
  return absl::StatusCode::kUnknown;
}

absl::Status TaskFailure(const TaskErrorInfo& info) {
  absl::Status status = absl::AbortedError(info.ToString());
  status.SetPayload(kErrorObjectPayload, absl::Cord(SerializeError(info)));
  return status;
}

std::optional<TaskErrorInfo> CarriedErrorObject(const absl::Status& status) {
  auto payload = status.GetPayload(kErrorObjectPayload);  // Abseil's optional
  if (!payload) return std::nullopt;
  std::string bytes(*payload);
  absl::StatusOr<TaskErrorInfo> info = DeserializeError(AsBytes(bytes));
  if (!info.ok()) return std::nullopt;
  return *std::move(info);
}

namespace {

// An error of `task` raised in this process.
TaskErrorInfo ErrorInfoHere(std::string function_name, std::string_view type, std::string message,
                            const TaskID& task) {
  TaskErrorInfo info;
  info.function_name = std::move(function_name);
  info.exception_type = type;
  info.message = std::move(message);
  info.task_id = task.Hex();
  info.pid = getpid();
  return info;
}

}  // namespace

TaskErrorInfo TaskErrorInfoOf(const absl::Status& status, std::string function_name,
                              const TaskID& task) {
  if (std::optional<TaskErrorInfo> carried = CarriedErrorObject(status)) {
    if (carried->task_id.empty()) carried->task_id = task.Hex();
    if (carried->function_name.empty()) carried->function_name = std::move(function_name);
    if (carried->pid == 0) carried->pid = getpid();
    return *std::move(carried);
  }
  return ErrorInfoHere(std::move(function_name), ErrorTypeName(status.code()),
                       std::string(status.message()), task);
}

std::shared_ptr<const std::string> ErrorObject(std::string function_name, std::string_view type,
                                               std::string message, const TaskID& task) {
  return std::make_shared<const std::string>(
      SerializeError(ErrorInfoHere(std::move(function_name), type, std::move(message), task)));
}

bool IsRuntimeError(const TaskErrorInfo& info) {
  return info.task_id.find_first_not_of('0') == std::string::npos;
}

TaskErrorInfo CaughtExceptionErrorInfo(std::string function_name, const TaskID& task) {
  std::string message;
  try {
    throw;
  } catch (const std::exception& e) {
    message = e.what();
  } catch (...) {
  }
  const std::type_info* type = abi::__cxa_current_exception_type();
  return ErrorInfoHere(std::move(function_name),
                       type != nullptr ? DemangleTypeName(type->name()) : "unknown exception",
                       std::move(message), task);
}

}  // namespace ray
