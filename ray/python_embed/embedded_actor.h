// Python actors of a C++ program (ray::PyActorClass, ray/api/py_actor.h): the creation makes an
// instance of module.Class with the worker's embedded interpreter (embedded_python.h), and the
// instance becomes the process's actor (ray/core_worker/actor_instance.h), its last reference
// dropped when the actor ends; each call runs one of its methods by name.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "ray/common/id.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/python_embed/embedded_python.h"

// Names every creation and call of a Python actor (TaskSpec.function).
extern "C" void RayPyActorTask();

namespace ray::python {

// The first argument of a creation is SerializePyCall(module, class); of a call, this.
std::string SerializePyMethod(std::string_view method);

// Runs a creation: args[0] names the class, the rest are its constructor's arguments. The
// instance becomes this process's actor, with `type` (what its calls check) and `actor` (its
// handle's object). Errors as RunPyFunction's, named "module.Class".
absl::Status CreatePyActor(std::span<const core::ObjectValue> args, const std::string& type,
                           const ObjectID& actor);

// Runs a call of this process's Python actor: args[0] names the method, the rest are its
// arguments; results as RunPyFunction's. Errors named "module.Class.method": the method's
// exception, AttributeError for a missing method, TypeError for a result that does not read as
// the caller expects; RayError when this process serves no actor of `type`.
absl::Status RunPyActorMethod(std::span<const core::ObjectValue> args, const std::string& type,
                              std::span<const ResultCheck> checks, core::ReturnWriter& returns);

}  // namespace ray::python
