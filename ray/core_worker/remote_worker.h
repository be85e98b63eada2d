// A worker on a node other than its scheduler's. The node (ray/cli) starts the driver's own
// program, fetched by build-id (ray/cluster/program_image.h), with the environment below; the
// program enters worker mode when it calls ray::Init (ray.init): it connects to its scheduler,
// presents the cluster token, serves tasks as a local worker does, and exits when the scheduler
// goes. What the program does before Init runs in each such worker too.
#pragma once

#include "ray/core_worker/remote_worker_env.h"

namespace ray::core {

// If this process was started as a remote worker, serves its scheduler and exits (never
// returns); else returns at once.
void RunIfRemoteWorker();

}  // namespace ray::core
