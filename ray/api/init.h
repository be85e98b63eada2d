// Starting and stopping ray in a driver. Part of the public API (ray/api.h).
#pragma once

#include "ray/api/options.h"

namespace ray {

// Starts ray for this process: the multi-process runtime, or local mode with
// {.local_mode = true}. Throws ray::RayError if ray is already initialized (in this process,
// or because this process is a worker) or the options are out of their limits (num_workers 0 to
// 1024, num_cpus 0 to 65536, ...: ray/core_worker/limits.h, the same as Python's ray.init).
// Shutdown happens at exit if the program does not call it.
//
// In a cluster (options.address), the other nodes run this driver's tasks from this same
// program, which they start with the driver's arguments: in those processes Init does not
// return but serves the driver as a worker. So what main does before Init runs on each such
// node too; a program that does more there than parse its arguments calls
// ray::RunAsWorkerIfStarted() first thing in main (docs/CLUSTER.md). The same holds for the
// program's actor host, which the head's node starts with the driver's arguments too: there
// Init does not return but serves as the host (ray/core_worker/actor_host.h).
void Init(const InitOptions& options = {});

// If a node started this process as a worker of a driver elsewhere (see Init), or as its
// program's actor host, serves as that and exits without returning; else returns at once.
void RunAsWorkerIfStarted();

// Stops what Init started (workers, store, local-mode objects). ObjectRefs that outlive it
// become inert: destroying them is fine, Get throws ray::RayError. A no-op if ray is not
// initialized by Init. Must not race with other threads still using the API.
void Shutdown();

// True between Init and Shutdown, and in a worker process.
bool IsInitialized();

}  // namespace ray
