// The extension's functions for actors (python/ray/actor.py): killing one, finding one by name,
// the actor a worker serves, and the options of an actor's creation as ray.submit takes them.
#pragma once

#include <pybind11/pybind11.h>

#include <functional>
#include <optional>
#include <string>
#include <tuple>

#include "ray/core_worker/core_runtime.h"

namespace ray::python {

// (max_restarts, max_task_retries, max_concurrency, num_cpus, name, class, detached): an actor's
// creation options as python/ray/actor.py passes them to ray._raylet.submit.
using ActorCreation = std::tuple<int, int, int, double, std::string, std::string, bool>;
core::ActorOptions ToActorOptions(const ActorCreation& creation);

// What actor_functions.cc needs of python_extension.cc.
struct ActorAccess {
  std::function<core::CoreRuntime&()> runtime;
  // Runs the call without the GIL in the driver (and in a worker with call threads).
  std::function<absl::StatusOr<std::optional<core::CoreRuntime::NamedActor>>(
      const std::function<absl::StatusOr<std::optional<core::CoreRuntime::NamedActor>>()>&)>
      without_gil;
  // The ObjectID (a Python object) that adopts the reference `id` carries.
  std::function<pybind11::object(const ObjectID& id)> adopt;
  // The ID of an ObjectID (a Python object).
  std::function<ObjectID(pybind11::handle)> object_id;
};

// Adds kill_actor, lookup_actor, set_actor, current_actor, exit_actor, actor_host and
// ACTOR_DIED_ERROR_TYPE to the module.
void RegisterActorFunctions(pybind11::module_& m, ActorAccess access);

}  // namespace ray::python
