// The seam between ray::Init and the multi-process runtime (scheduler threads in the driver,
// the node's object store, worker processes). Declared here, defined by the runtime's own
// library; //ray:ray does not link a definition, so a binary links exactly one of:
//   - the multi-process runtime's library (the real one);
//   - //ray/api:cluster_runtime_unavailable, whose StartClusterRuntime throws (for programs
//     and tests that only use local mode).
#pragma once

#include <memory>

#include "ray/api/options.h"
#include "ray/core_worker/core_runtime.h"

namespace ray::internal {

// Starts the runtime for a driver (ray::Init without local_mode) and returns it; ray::Init
// makes it CurrentRuntime() and ray::Shutdown destroys it (after clearing CurrentRuntime()),
// which must stop and reap everything it started. Throws ray::RayError if it cannot start.
std::unique_ptr<core::CoreRuntime> StartClusterRuntime(const InitOptions& options);

}  // namespace ray::internal
