#include "ray/api/internal/status.h"

#include "ray/object/status.h"

namespace ray::internal {

void ThrowStatus(const absl::Status& status) {
  if (std::optional<TaskErrorInfo> info = CarriedErrorObject(status)) {
    ThrowErrorObject(*std::move(info));
  }
  const std::string message(status.message());
  switch (status.code()) {
    case absl::StatusCode::kDeadlineExceeded:
      throw GetTimeoutError(message);
    case absl::StatusCode::kResourceExhausted:
      throw ObjectStoreFullError(message);
    case absl::StatusCode::kNotFound:
      throw ObjectLostError(message);
    default:
      throw RayError(message);
  }
}

void ThrowErrorObject(TaskErrorInfo info) {
  if (info.exception_type == kWorkerCrashedErrorType) throw WorkerCrashedError(std::move(info));
  if (info.exception_type == kActorDiedErrorType) throw ActorDiedError(std::move(info));
  if (IsRuntimeError(info)) {
    ThrowStatus(absl::Status(ErrorTypeCode(info.exception_type), info.message));
  }
  throw TaskError(std::move(info));
}

void ThrowCallError(std::string_view api, const absl::Status& status) {
  throw RayError(std::string(api) + ": " + std::string(status.message()));
}

TaskErrorInfo CurrentExceptionErrorInfo() {
  try {
    throw;
  } catch (const TaskError& e) {
    return e.info();
  } catch (const WorkerCrashedError& e) {
    return e.info();
  } catch (const ActorDiedError& e) {
    return e.info();
  } catch (const ActorExit&) {
    TaskErrorInfo info;
    info.exception_type = kActorDiedErrorType;
    info.message = "the actor exited (ray::ExitActor)";
    return info;
  } catch (...) {
    TaskErrorInfo info = CaughtExceptionErrorInfo("", TaskID::Nil());
    info.task_id.clear();  // the runtime's to fill in, as the function's name
    return info;
  }
}

absl::Status CurrentExceptionStatus() { return TaskFailure(CurrentExceptionErrorInfo()); }

}  // namespace ray::internal
