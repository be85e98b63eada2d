#include "ray/python_embed/actor_functions.h"

#include "ray/object/status.h"
#include "ray/python_embed/python_objects.h"

namespace ray::python {

namespace py = pybind11;

core::ActorOptions ToActorOptions(const ActorCreation& creation) {
  const auto& [max_restarts, max_task_retries, max_concurrency, num_cpus, name, type] = creation;
  return {.max_restarts = max_restarts,
          .max_task_retries = max_task_retries,
          .max_concurrency = max_concurrency,
          .num_cpus = num_cpus,
          .name = name,
          .type = type};
}

void RegisterActorFunctions(py::module_& m, ActorAccess access) {
  m.attr("ACTOR_DIED_ERROR_TYPE") = std::string(kActorDiedErrorType);
  m.def(
      "kill_actor",
      [access](py::handle actor, bool no_restart) {
        absl::Status killed = access.runtime().KillActor(access.object_id(actor), no_restart);
        if (!killed.ok()) RaiseStatus(killed);
      },
      py::arg("actor"), py::arg("no_restart") = true);
  // The actor named `name`: (its handle's ObjectID, its class) or None.
  m.def(
      "lookup_actor",
      [access](const std::string& name) -> py::object {
        auto found = access.without_gil([&] { return access.runtime().LookupActor(name); });
        if (!found.ok()) RaiseStatus(found.status());
        if (!found->has_value()) return py::none();
        return py::make_tuple(access.adopt((*found)->id), (*found)->type);
      },
      py::arg("name"));
}

}  // namespace ray::python
