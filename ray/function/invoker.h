// What a remote function looks like to the runtimes: an invoker that runs it on serialized
// arguments and writes its serialized results.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "ray/common/id.h"

namespace ray::core {

// An object's serialized bytes, kept alive by `owner` (a store pin or the runtime's memory).
struct ObjectValue {
  std::span<const uint8_t> bytes;
  std::shared_ptr<const void> owner;
};

// Where a task puts its return values: Allocate(i, n) gives n writable bytes for return i
// (in the shared store or in a message, as the runtime sees fit). Errors: OutOfRange for an
// index past the task's returns, FailedPrecondition for a return written twice,
// ResourceExhausted when the store has no room (ray/object/status.h).
class ReturnWriter {
 public:
  virtual ~ReturnWriter() = default;
  virtual absl::StatusOr<std::span<uint8_t>> Allocate(size_t index, size_t size) = 0;
  // Return i's value references these objects (IDs inside it): they live as long as it does.
  virtual absl::Status SetNestedRefs(size_t index, std::vector<ObjectID> ids) = 0;
};

// The check every ReturnWriter makes before writing return `index` of `count`.
inline absl::Status CheckReturnIndex(size_t index, size_t count, bool written) {
  if (index >= count) {
    return absl::OutOfRangeError(absl::StrCat("the task wrote return value ", index,
                                              " but has only ", count, " (num_returns)"));
  }
  if (written) {
    return absl::FailedPreconditionError(
        absl::StrCat("the task wrote return value ", index, " twice"));
  }
  return absl::OkStatus();
}

// What every runtime says of a task that returned without writing return `index` of `count`.
inline absl::Status MissingReturn(size_t index, size_t count) {
  return absl::FailedPreconditionError(
      absl::StrCat("the task did not write return value ", index, " of ", count));
}

// Runs `function` (the user's function, cast back by the invoker, which knows its type) on
// serialized arguments and writes its return values. Returns how the task failed, if it did
// (ray/object/status.h: TaskFailure carries the task's error object); a runtime still catches
// what an invoker lets through. One invoker is instantiated per function type; workers run the
// same binary, so its address names it (ray/function/function_id.h).
using Invoker = absl::Status (*)(const void* function, std::span<const ObjectValue> args,
                                 ReturnWriter& returns);

}  // namespace ray::core
