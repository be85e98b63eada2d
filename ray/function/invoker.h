// What a remote function looks like to the runtimes: an invoker that runs it on serialized
// arguments and writes its serialized results.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ray/common/id.h"

namespace ray::core {

// An object's serialized bytes, kept alive by `owner` (a store pin or the runtime's memory).
struct ObjectValue {
  std::span<const uint8_t> bytes;
  std::shared_ptr<const void> owner;
};

// Where a task puts its return values: Allocate(i, n) gives n writable bytes for return i
// (in the shared store or in a message, as the runtime sees fit).
class ReturnWriter {
 public:
  virtual ~ReturnWriter() = default;
  virtual std::span<uint8_t> Allocate(size_t index, size_t size) = 0;
  // Return i's value references these objects (IDs inside it): they live as long as it does.
  virtual void SetNestedRefs(size_t index, std::vector<ObjectID> ids) = 0;
};

// Runs `function` (the user's function, cast back by the invoker, which knows its type) on
// serialized arguments and writes its return values. Exceptions propagate to the caller.
// One invoker is instantiated per function type; workers run the same binary, so its
// address names it (ray/function/function_id.h).
using Invoker = void (*)(const void* function, std::span<const ObjectValue> args,
                         ReturnWriter& returns);

}  // namespace ray::core
