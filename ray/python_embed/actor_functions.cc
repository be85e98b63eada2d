#include "ray/python_embed/actor_functions.h"

#include "ray/core_worker/actor_instance.h"
#include "ray/core_worker/limits.h"
#include "ray/core_worker/session.h"
#include "ray/object/status.h"
#include "ray/python_embed/python_objects.h"

namespace ray::python {

namespace py = pybind11;

namespace {

// A Python actor as its worker's ActorInstance holds it: when the worker stops serving it,
// `end` runs (with the GIL) and drops the worker's reference, so that its __del__ runs then.
struct PyActorEnd {
  explicit PyActorEnd(py::object f) : end(std::move(f)) {}
  PyActorEnd(const PyActorEnd&) = delete;
  PyActorEnd& operator=(const PyActorEnd&) = delete;
  ~PyActorEnd() {
    py::gil_scoped_acquire gil;
    try {
      end();
    } catch (const py::error_already_set& e) {
      PySys_WriteStderr("ray: ending the actor: %s\n", e.what());
    }
    end = py::object();
  }
  py::object end;
};

}  // namespace

core::ActorOptions ToActorOptions(const ActorCreation& creation) {
  const auto& [max_restarts, max_task_retries, max_concurrency, num_cpus, name, type, detached] =
      creation;
  core::ActorOptions options{.max_restarts = max_restarts,
                             .max_task_retries = max_task_retries,
                             .max_concurrency = max_concurrency,
                             .num_cpus = num_cpus,
                             .name = name,
                             .type = type,
                             .detached = detached};
  // Refused here, at .remote(): the scheduler drops a worker that sends such a creation.
  if (absl::Status checked = core::CheckActorOptions(options); !checked.ok()) {
    throw py::value_error(std::string(checked.message()));
  }
  return options;
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
  // In a worker running an actor's creation: `end()` is called when the actor ends.
  m.def(
      "set_actor",
      [access](py::object end, const std::string& type) {
        const TaskID creation = access.runtime().CurrentTaskId();
        core::SetActorInstance(std::make_shared<PyActorEnd>(std::move(end)), type,
                               ObjectID::ForReturn(creation, 1));
      },
      py::arg("end"), py::arg("type"));
  // In an actor's creation: the actor's ID (its handle's object), as hex.
  m.def("running_creation_actor",
        [access] { return ObjectID::ForReturn(access.runtime().CurrentTaskId(), 1).Hex(); });
  // In an actor's process: (its ID as hex, whether it restarted); else None.
  m.def("current_actor", []() -> py::object {
    const core::ActorInstance* actor = core::CurrentActorInstance();
    if (actor == nullptr) return py::none();
    return py::make_tuple(actor->id.Hex(), core::ActorRestarted());
  });
  // ray.actor.exit_actor: the actor ends after the running call, for good.
  m.def("exit_actor", [access] {
    const core::ActorInstance* actor = core::CurrentActorInstance();
    if (actor == nullptr) throw py::type_error("exit_actor() called outside an actor's method");
    absl::Status exiting = access.runtime().ActorExiting(actor->id);
    if (!exiting.ok()) RaiseStatus(exiting);
    core::RequestActorExit();
  });
  // The actor host of this driver's program in its cluster (ray/core_worker/actor_host.h),
  // started if there is none: (its scheduler's "HOST:PORT", its job).
  m.def("actor_host", [] {
    absl::StatusOr<cluster::ActorHostAddress> host = absl::UnknownError("");
    {
      py::gil_scoped_release unlocked;  // it may start the host: seconds
      host = core::ActorHostOfCluster();
    }
    if (!host.ok()) RaiseStatus(host.status());
    return py::make_tuple(host->address, host->job);
  });
}

}  // namespace ray::python
