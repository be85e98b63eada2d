// Every option of a session: ray::Init's InitOptions (ray/api/options.h) and ray.init's
// arguments (python/ray/_worker.py) both map to this struct; docs/API.md lists each with its
// names in both languages. Checked by CheckSessionOptions (limits.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace ray::core {

struct SessionOptions {
  int num_workers = 0;               // worker processes started at once; 0: the number of cores
  double num_cpus = 0;               // CPUs the scheduler hands out; 0: num_workers
  uint64_t object_store_memory = 0;  // 0: DefaultStoreMemory (limits.h)
  bool local_mode = false;           // tasks run in the calling thread; no node, no workers
  std::string session_dir_root;      // where the session folder goes; empty: $TMPDIR or /tmp
  bool record_task_graph = true;     // keep the computation graph (task_graph.h)
  size_t max_recorded_tasks = 0;     // tasks the graph keeps; 0: TaskGraph::kDefaultMaxTasks
  // Workers started beyond num_workers (when tasks block in a get, or CPUs are free and no
  // worker is) exit after this long idle.
  absl::Duration idle_worker_timeout = absl::Seconds(10);
  // A worker that holds tasks and sends nothing for this long is stalled: killed, and its tasks
  // retried (see SchedulerOptions::worker_stall_timeout).
  absl::Duration worker_stall_timeout = absl::Seconds(30);
  // Worker processes at most, blocked ones included; 0: 256. Past it, a worker blocked in a
  // get runs ready tasks inside its wait.
  int max_workers = 0;
  // Workers show `ray::worker` as their command line (ps, pkill -f), not the driver's. Off by
  // default in C++: a worker runs the user's code with the globals it had at Init, and a C++
  // program may point into its argv memory, which this overwrites. On in Python (the
  // interpreter copies its arguments).
  bool worker_command_line_title = false;
  // A cluster for the node to join (docs/CLUSTER.md): "HOST:PORT" of its head, or "auto" (the
  // latest cluster started on this machine). "": RAY_ADDRESS if set, else none (the node stays
  // on its own, with no TCP listener).
  std::string address;
  // This node's custom resources (name: amount), for tasks that ask for them.
  std::map<std::string, double> resources;
  // In a cluster, how other nodes start this driver's workers: its program with these arguments
  // (empty: this process's own, argv[0] first) and these variables ("NAME=value") added to the
  // node's environment (empty with the program's own arguments: this process's PYTHONPATH, made
  // absolute, for ray::PyFunction). The Python package runs its worker module this way.
  std::vector<std::string> remote_worker_argv;
  std::vector<std::string> remote_worker_env;
  // An actor host's session (actor_host.h; set by host mode, not by the frontends): its node
  // offers no CPUs and starts no workers of its own.
  bool actor_host = false;
};

}  // namespace ray::core
