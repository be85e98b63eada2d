// ray::Init / Shutdown: the C++ frontend of the session owner (ray/core_worker/session.h).
#include "ray/api/init.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "ray/api/internal/status.h"
#include "ray/core_worker/actor_host.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/core_worker/remote_worker.h"
#include "ray/core_worker/session.h"

namespace ray {
namespace {

// Every field of InitOptions, in one place.
core::SessionOptions ToSessionOptions(const InitOptions& options) {
  return {.num_workers = options.num_workers,
          .num_cpus = options.num_cpus,
          .object_store_memory = options.object_store_memory,
          .local_mode = options.local_mode,
          .session_dir_root = options.session_dir_root,
          .record_task_graph = options.record_task_graph,
          .max_recorded_tasks = options.max_recorded_tasks,
          .idle_worker_timeout = options.idle_worker_timeout,
          .worker_stall_timeout = options.worker_stall_timeout,
          .max_workers = options.max_workers,
          .worker_command_line_title = options.worker_command_line_title,
          .address = options.address,
          .resources = options.resources};
}

}  // namespace

void Init(const InitOptions& options) {
  absl::Status status = core::StartSession(ToSessionOptions(options));
  if (status.ok()) return;
  if (status.code() == absl::StatusCode::kAlreadyExists) {
    status =
        absl::AlreadyExistsError(absl::StrCat(status.message(), " (call ray::Shutdown first)"));
  }
  internal::ThrowCallError("ray::Init", status);
}

void Shutdown() { core::ShutdownSession(); }

void RunAsWorkerIfStarted() {
  core::RunIfRemoteWorker();
  core::RunIfActorHost({});
}

bool IsInitialized() { return core::CurrentRuntime() != nullptr; }

}  // namespace ray
