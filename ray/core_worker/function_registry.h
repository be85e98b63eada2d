// C++ functions registered by name (RAY_REMOTE, ray/api/ray_remote.h), so that another language
// can call them: the Python package loads a user's shared library and asks it for its table.
//
// Each module (executable or shared library) that links this file has its own table, filled by
// static initializers, and exports one C function, ray_registered_functions, that returns it.
// A loader finds it with dlsym on that library's handle, so the table it reads is the library's
// own even when the loader (the Python extension) holds another copy of libray. The entries are
// plain data; the invoker is called across the two copies, which is safe because both are built
// from the same sources: ObjectValue and ReturnWriter (core_runtime.h) have one layout, the
// writer is called through its vtable, and exceptions are matched by type name.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ray/core_worker/core_runtime.h"

namespace ray::core {

struct RegisteredFunction {
  const char* name;  // as registered ("add", "ns::add"); lives as long as the module
  Invoker invoker;   // reads msgpack arguments, writes msgpack results
  const void* function;
  uint32_t num_args;
  uint32_t num_returns;
};

// Adds an entry to this module's table (from a static initializer). The name is copied.
// Hidden, so that each module fills its own table.
__attribute__((visibility("hidden"))) void RegisterFunction(const char* name, Invoker invoker,
                                                            const void* function, uint32_t num_args,
                                                            uint32_t num_returns);

// The symbol a loader looks up, and its type: returns the table and sets *count.
inline constexpr char kRegisteredFunctionsSymbol[] = "ray_registered_functions";
using RegisteredFunctionsAccessor = const RegisteredFunction* (*)(size_t* count);

// The symbol through which a loader hands its runtime to the module (UseRuntimeOf in
// core_runtime.h), so the module's functions can call the ray API; and its type.
inline constexpr char kUseRuntimeOfSymbol[] = "ray_use_runtime_of";
using UseRuntimeOfFunction = void (*)(RuntimeSource runtime, EpochSource epoch,
                                      NodeIdSource node_id);

}  // namespace ray::core

extern "C" __attribute__((visibility("default"))) const ray::core::RegisteredFunction*
ray_registered_functions(size_t* count);

extern "C" __attribute__((visibility("default"))) void ray_use_runtime_of(
    ray::core::RuntimeSource runtime, ray::core::EpochSource epoch,
    ray::core::NodeIdSource node_id);
