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
//
// A module built against another libray may lay all of that out otherwise, so each module also
// exports a stamp of the layout it was built with (ray_registered_functions_layout), and a
// loader reads the table through ReadRegisteredFunctions, which refuses a module whose stamp is
// not its own before it reads a byte of the table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "ray/core_worker/actor_instance.h"
#include "ray/core_worker/core_runtime.h"

namespace ray::core {

// What a registered name is: a function (a task), an actor's factory (its task makes an actor
// of class `actor_type`) or a method of an actor of class `actor_type`.
enum class RegisteredKind : uint32_t { kFunction, kActorFactory, kMethod };

struct RegisteredFunction {
  const char*
      name;         // as registered ("add", "ns::add", "Counter::Add"); lives as long as the module
  Invoker invoker;  // reads msgpack arguments, writes msgpack results
  const void* function;
  uint32_t num_args;  // the function's parameters (for a method: not counting `first_arg`)
  uint32_t num_returns;
  RegisteredKind kind = RegisteredKind::kFunction;
  const char* actor_type = "";  // a factory's or a method's class (ray::TypeName)
  // A method that its address alone does not name (virtual, or adjusting `this`): the argument
  // every call passes first, which names it (ray/api/actor.h, MethodWords); size 0 else.
  const char* first_arg = "";
  size_t first_arg_size = 0;
};

// Adds an entry to this module's table (from a static initializer). The strings are copied.
// Hidden, so that each module fills its own table.
__attribute__((visibility("hidden"))) void RegisterFunction(RegisteredFunction entry);

// The symbol a loader looks up, and its type: returns the table and sets *count.
inline constexpr char kRegisteredFunctionsSymbol[] = "ray_registered_functions";
using RegisteredFunctionsAccessor = const RegisteredFunction* (*)(size_t* count);

// The symbol through which a loader hands its runtime to the module (UseRuntimeOf in
// core_runtime.h), so the module's functions can call the ray API, and its actor state
// (UseActorStateOf in actor_instance.h), so the module's actors are the worker's; and its type.
inline constexpr char kUseRuntimeOfSymbol[] = "ray_use_runtime_of";
using UseRuntimeOfFunction = void (*)(RuntimeSource runtime, EpochSource epoch,
                                      NodeIdSource node_id, ActorState* actor_state);

// The layout of what crosses between a loader and a module: RegisteredFunction, the types of
// the accessor and of ray_use_runtime_of, and what an invoker is handed (ObjectValue and
// ReturnWriter in core_runtime.h, ActorState in actor_instance.h). Raise it with any change to
// one of them.
inline constexpr uint32_t kRegisteredFunctionsLayout = 1;

// The symbol of a module's stamp, and its type, which never change (so that any two libray
// versions read each other's): it returns the module's kRegisteredFunctionsLayout and sets
// *libray_version to the libray version the module was built with (RAY_LIBRARY_VERSION).
inline constexpr char kRegisteredFunctionsLayoutSymbol[] = "ray_registered_functions_layout";
using RegisteredFunctionsLayoutFunction = uint32_t (*)(const char** libray_version);

// The table of the module open at `handle` (from dlopen), called `path` in errors: empty if the
// module has none. FailedPrecondition, naming `path` and both libray versions and layouts, if
// the module has a table and its stamp is missing or is not kRegisteredFunctionsLayout; the
// table is then not read.
absl::StatusOr<std::span<const RegisteredFunction>> ReadRegisteredFunctions(
    void* handle, const std::string& path);

}  // namespace ray::core

extern "C" __attribute__((visibility("default"))) uint32_t ray_registered_functions_layout(
    const char** libray_version);

extern "C" __attribute__((visibility("default"))) const ray::core::RegisteredFunction*
ray_registered_functions(size_t* count);

extern "C" __attribute__((visibility("default"))) void ray_use_runtime_of(
    ray::core::RuntimeSource runtime, ray::core::EpochSource epoch, ray::core::NodeIdSource node_id,
    ray::core::ActorState* actor_state);
