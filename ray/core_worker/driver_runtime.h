// The runtime of a driver: makes the session (a private folder with the sockets and logs),
// forks the zygote, the store and the workers, and runs the scheduler threads in this process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/store/client.h"

namespace ray::core {

struct DriverOptions {
  int num_workers = 0;               // 0: the number of cores
  double num_cpus = 0;               // 0: num_workers
  uint64_t object_store_memory = 0;  // 0: DefaultStoreMemory (ray/core_worker/limits.h)
  std::string session_dir_root;      // empty: $TMPDIR or /tmp
  bool record_task_graph = true;
  size_t max_recorded_tasks = 0;  // tasks the graph keeps; 0: TaskGraph::kDefaultMaxTasks
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
  // default: a worker runs the user's code with the globals it had at Init, and a C++ program
  // may point into its argv memory, which this overwrites. The Python extension turns it on
  // (the interpreter copies its arguments).
  bool worker_command_line_title = false;
};

class DriverRuntime : public CoreRuntime {
 public:
  // Starts the node. Call before the program starts threads of its own (the zygote is
  // forked first, and a fork copies only the calling thread).
  static absl::StatusOr<std::unique_ptr<DriverRuntime>> Start(const DriverOptions& options);

  virtual const std::string& session_dir() const = 0;
  virtual pid_t store_pid() const = 0;
  virtual pid_t zygote_pid() const = 0;
  virtual std::vector<pid_t> worker_pids() = 0;
  // The node's CPUs: all of them, and those no running task holds.
  virtual double num_cpus() const = 0;
  virtual double free_cpus() = 0;
  // What the node's store holds now (objects, bytes).
  virtual absl::StatusOr<store::StoreClientStats> store_stats() = 0;
};

}  // namespace ray::core
