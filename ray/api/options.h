// Options of ray::Init and of a remote call. Part of the public API (ray/api.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "absl/time/time.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/core_worker/session_options.h"

namespace ray {

// ray::Init({.num_workers = 10}); fields in this order (designated initializers). Each has a
// ray.init argument too (docs/API.md); ray::Init checks them (ray/core_worker/limits.h).
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
  // Worker processes at most, blocked ones included: 0 to 4096; 0: 256. Past it, a worker
  // blocked in a Get runs ready tasks inside its wait.
  int max_workers = 0;
  // Workers started beyond num_workers exit after this long idle (> 0).
  absl::Duration idle_worker_timeout = core::SessionOptions{}.idle_worker_timeout;
  // A worker that holds tasks and sends nothing for this long (at least 2 s: it sends a
  // heartbeat every second) is killed, and its tasks retried.
  absl::Duration worker_stall_timeout = core::SessionOptions{}.worker_stall_timeout;
  // Workers show `ray::worker` as their command line (ps, pkill -f). Overwrites the argv memory
  // of the worker (a fork of this process): leave it off if the program points into argv.
  bool worker_command_line_title = false;
  // A cluster to join (docs/CLUSTER.md): "HOST:PORT" of its head or "auto" (the latest started
  // on this machine); "": RAY_ADDRESS, else none. The driver's node registers with the head
  // (ray::Nodes lists it), and tasks run on every node of the cluster.
  std::string address;
  // The custom resources of the driver's node (name: amount), for tasks that ask for them
  // (TaskOptions::resources).
  std::map<std::string, double> resources;
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
  double num_cpus = core::SubmitOptions{}.num_cpus;
  // Re-runs after a worker crash (not after an exception); -1: no limit.
  int max_retries = core::SubmitOptions{}.max_retries;
  std::string name;  // names the task in the computation graph; "": the function's name
  // Custom resources the task holds while it runs (name: amount, as Ray's `resources`): it runs
  // only on a node that has them free (ray start --resources). No node with them in its total:
  // the call's result is a RayError saying so.
  std::map<std::string, double> resources;
};

}  // namespace ray
