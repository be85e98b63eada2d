#include "ray/api/cluster_runtime.h"

#include <string>

#include "ray/core_worker/driver_runtime.h"
#include "ray/object/errors.h"

namespace ray::internal {

std::unique_ptr<core::CoreRuntime> StartClusterRuntime(const InitOptions& options) {
  auto runtime = core::DriverRuntime::Start({.num_workers = options.num_workers,
                                             .num_cpus = options.num_cpus,
                                             .object_store_memory = options.object_store_memory,
                                             .session_dir_root = options.session_dir_root,
                                             .record_task_graph = options.record_task_graph,
                                             .max_recorded_tasks = options.max_recorded_tasks});
  if (!runtime.ok()) {
    throw RayError("ray::Init: cannot start the node: " + std::string(runtime.status().message()));
  }
  return *std::move(runtime);
}

}  // namespace ray::internal
