// Functions as tasks name them: an (invoker, function) pair, described once per process and
// sent once per connection under a 64-bit key that every process of the same binary computes
// alike.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "ray/function/function_id.h"
#include "ray/function/invoker.h"

namespace ray::core {

struct FunctionRecord {
  FunctionDescriptor invoker;   // module_path left empty: for messages only
  FunctionDescriptor function;  // the user's function
  std::string name;             // the user's function, demangled
};

struct DescribedFunction {
  uint64_t key;
  const FunctionRecord* record;  // lives as long as the process
};

// Describes the pair for the wire. Cached: repeated calls cost a hash lookup.
absl::StatusOr<DescribedFunction> DescribeTaskFunction(Invoker invoker, const void* function);

struct ResolvedFunction {
  Invoker invoker = nullptr;
  const void* function = nullptr;
  std::string name;
};

// Finds the pair in this process (same binary: same build-ids). Errors name the function.
absl::StatusOr<ResolvedFunction> ResolveTaskFunction(const FunctionRecord& record);

}  // namespace ray::core
