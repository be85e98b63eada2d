#include "ray/api/errors.h"

#include <utility>

namespace ray {

TaskError::TaskError(TaskErrorInfo info) : RayError(info.ToString()), info_(std::move(info)) {}

WorkerCrashedError::WorkerCrashedError(TaskErrorInfo info)
    : RayError(info.ToString()), info_(std::move(info)) {}

ActorDiedError::ActorDiedError(TaskErrorInfo info)
    : RayError(info.ToString()), info_(std::move(info)) {}

}  // namespace ray
