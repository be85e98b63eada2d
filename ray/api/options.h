// Options of ray::Init and of a remote call. Part of the public API (ray/api.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "ray/core_worker/core_runtime.h"

namespace ray {

// ray::Init({.num_workers = 10}); fields in this order (designated initializers).
struct InitOptions {
  int num_workers = 0;               // worker processes; 0: the number of cores
  double num_cpus = 0;               // CPUs the scheduler hands out; 0: num_workers
  uint64_t object_store_memory = 0;  // bytes of the node's object store; 0: the default (API.md)
  bool local_mode = false;           // run every task in the calling thread (for debugging)
  std::string session_dir_root;      // where the session folder goes; "": the temp dir
  bool record_task_graph = true;     // for VisualizeComputationGraph and Timeline
  // Tasks (and as many puts) the graph keeps, some 100 bytes each; later ones are counted, and
  // the picture and the timeline say how many were not recorded. 0: the default, 250,000.
  size_t max_recorded_tasks = 0;
};

// ray::Remote(f).Options({.num_cpus = 2, .max_retries = 0})(args...). A value outside its
// range throws ray::RayError at the call (the limits are ray/core_worker/limits.h's, the same as
// Python's).
struct TaskOptions {
  // Return objects. 0: from f's type (the size of ray::Returns<...>, else 1); any other value
  // must equal that, or the call throws ray::RayError.
  int num_returns = 0;
  // CPUs the task holds while it runs: 0 to 65536. A task that asks for more than the node has
  // runs when all of the node's CPUs are free.
  double num_cpus = core::TaskOptions{}.num_cpus;
  // Re-runs after a worker crash (not after an exception); -1: no limit.
  int max_retries = core::TaskOptions{}.max_retries;
  std::string name;  // names the task in the computation graph; "": the function's name
};

}  // namespace ray
