// The non-template parts of ray/api/object_ref.h and ray/api/remote.h.
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "ray/api/actor.h"
#include "ray/api/object_ref.h"
#include "ray/api/remote.h"
#include "ray/core_worker/limits.h"
#include "ray/function/function_id.h"

namespace ray::internal {
namespace {
// Debian's Abseil has its own string_view.
absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }
}  // namespace

core::CoreRuntime& Runtime(std::string_view api) {
  core::CoreRuntime* runtime = core::CurrentRuntime();
  if (runtime == nullptr) {
    throw RayError(absl::StrCat(Sv(api), " called before ray::Init (or after ray::Shutdown)"));
  }
  return *runtime;
}

core::CoreRuntime& ObjectRefBase::UsableRuntime(std::string_view api) const {
  core::CoreRuntime& runtime = Runtime(api);
  if (id_.IsNil()) {
    throw RayError(
        absl::StrCat(Sv(api), ": the ObjectRef is nil (default-constructed or moved from)"));
  }
  if (!Counted()) {
    throw RayError(absl::StrCat(Sv(api), ": ObjectRef(", id_.Hex(),
                                ") was made by a ray session that has ended (ray::Shutdown "
                                "since), or before ray::Init"));
  }
  return runtime;
}

void ThrowIfErrorObject(const core::ObjectValue& value, const ObjectID& id, std::string_view api) {
  if (!IsError(value.bytes)) return;
  absl::StatusOr<TaskErrorInfo> info = DeserializeError(value.bytes);
  if (!info.ok()) {
    throw RayError(absl::StrCat(Sv(api), ": object ", id.Hex(),
                                " is a malformed error object: ", info.status().message()));
  }
  ThrowErrorObject(*std::move(info));
}

void ThrowReadError(const absl::Status& status, const ObjectID& id, std::string_view api,
                    const std::string& type) {
  throw RayError(absl::StrCat(Sv(api), ": cannot read object ", id.Hex(), " as ", type, ": ",
                              status.message()));
}

void CheckUnique(std::span<const ObjectID> ids, std::string_view api) {
  absl::flat_hash_set<ObjectID> seen;
  seen.reserve(ids.size());
  for (const ObjectID& id : ids) {
    if (!seen.insert(id).second) {
      throw RayError(absl::StrCat(Sv(api), ": ObjectRef(", id.Hex(), ") appears twice"));
    }
  }
}

void ThrowArgumentError(const absl::Status& status, const core::ObjectValue& value, size_t index,
                        const void* function, const std::string& type) {
  if (IsError(value.bytes)) {
    // The runtime should not run a task with a failed argument; if it does, the task fails
    // with the argument's error, as if it had not run.
    absl::StatusOr<TaskErrorInfo> info = DeserializeError(value.bytes);
    if (info.ok()) ThrowErrorObject(*std::move(info));
  }
  throw RayError(absl::StrCat("argument ", index, " (counting from 0) of ",
                              core::FunctionName(function), ": cannot read it as ", type, ": ",
                              status.message()));
}

void ThrowShortAllocation(size_t index, size_t given, size_t needed) {
  throw RayError(absl::StrCat("the runtime gave ", given, " bytes for return value ", index,
                              ", which needs ", needed));
}

void ThrowArity(const void* function, size_t given, size_t expected) {
  if (function == nullptr) {
    throw RayError(absl::StrCat("the runtime returned ", given, " object IDs for a task with ",
                                expected, " return values"));
  }
  throw RayError(absl::StrCat(core::FunctionName(function), " takes ", expected,
                              " arguments; the task has ", given));
}

void WriteNone(core::ReturnWriter& returns) { WriteReturn(0, msgpack::type::nil_t(), returns); }

}  // namespace ray::internal

namespace ray {

void ExitActor() {
  const core::ActorInstance* actor = core::CurrentActorInstance();
  if (actor == nullptr || !core::InRunningCall()) {
    throw RayError(actor == nullptr ? "ray::ExitActor: not inside an actor's method"
                                    : "ray::ExitActor: not on a thread running one of the "
                                      "actor's calls (a thread a call started cannot end it)");
  }
  absl::Status exiting = internal::Runtime("ray::ExitActor").ActorExiting(actor->id);
  if (!exiting.ok()) internal::ThrowCallError("ray::ExitActor", exiting);
  core::RequestActorExit();
  throw internal::ActorExit{};
}

bool WasCurrentActorRestarted() {
  if (core::CurrentActorInstance() == nullptr) {
    throw RayError("ray::WasCurrentActorRestarted: not inside an actor's method");
  }
  return core::ActorRestarted();
}

}  // namespace ray

namespace ray::internal {

// RayError, naming `api`, when a live actor has the name `name` ("": none).
void CheckActorNameFree(core::CoreRuntime& runtime, const std::string& name,
                        const std::string& api) {
  if (name.empty()) return;
  std::optional<core::CoreRuntime::NamedActor> found = ValueOrThrow(runtime.LookupActor(name));
  if (!found) return;
  ObjectRef<std::string> release(found->id, kAdopt);  // the reference the lookup counted
  throw RayError(absl::StrCat(api, ".Options({.name = \"", name,
                              "\"}).Remote(): the name is taken (by actor ", found->id.Hex(),
                              ", a ", found->type, ")"));
}

core::TaskSpec ActorCreationSpec(core::CoreRuntime& runtime, const ActorOptions& options,
                                 const void* function, std::string type, std::string task_name,
                                 const std::string& api) {
  // Errors name the API as it was called: ray::Actor(MakeCounter), ray::PyActorClass("m", "C").
  const std::string caller =
      api.empty() ? absl::StrCat("ray::Actor(", core::FunctionName(function), ")") : api;
  core::ActorOptions creates{.max_restarts = options.max_restarts,
                             .max_task_retries = options.max_task_retries,
                             .max_concurrency = options.max_concurrency,
                             .num_cpus = options.num_cpus,
                             .name = options.name,
                             .type = std::move(type),
                             .detached = options.lifetime == ActorLifetime::kDetached};
  if (absl::Status checked = core::CheckActorOptions(creates); !checked.ok()) {
    throw RayError(absl::StrCat(caller, ".Options: ", checked.message()));
  }
  CheckActorNameFree(runtime, options.name, caller);
  core::TaskSpec spec;
  spec.function = function;
  spec.options = CoreOptions(TaskOptions{.num_cpus = options.num_cpus,
                                         .max_retries = 0,
                                         .name = std::move(task_name),
                                         .resources = options.resources},
                             1, function, caller + ".Options");
  spec.creates_actor = std::move(creates);
  return spec;
}

void KillActor(const ObjectID& actor, bool no_restart) {
  absl::Status killed = Runtime("handle.Kill()").KillActor(actor, no_restart);
  if (!killed.ok()) ThrowCallError("handle.Kill()", killed);
}

core::SubmitOptions CoreOptions(const TaskOptions& options, int num_returns, const void* function,
                                std::string_view api) {
  const std::string caller = api.empty()
                                 ? absl::StrCat("ray::Remote(", core::FunctionName(function), ")")
                                 : std::string(api);
  if (options.num_returns != 0 && options.num_returns != num_returns) {
    throw RayError(absl::StrCat(caller, ": options.num_returns = ", options.num_returns,
                                ", but the function returns ", num_returns,
                                num_returns == 1 ? " value" : " values (ray::Returns<...>)"));
  }
  core::SubmitOptions core_options;
  core_options.num_returns = num_returns;
  core_options.num_cpus = options.num_cpus;
  core_options.max_retries = options.max_retries;
  core_options.name = options.name;
  core_options.resources.assign(options.resources.begin(), options.resources.end());
  if (absl::Status status = core::CheckSubmitOptions(&core_options); !status.ok()) {
    throw RayError(absl::StrCat(caller, ": options.", status.message()));
  }
  return core_options;
}

}  // namespace ray::internal
