// What the computation graph recorder (task_graph.h) hands out: a copy of the tasks and puts
// recorded so far. Apart from the recorder, so that code that only passes snapshots on (the
// runtime interface beneath the public API) does not include the recorder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "ray/common/id.h"

namespace ray::core {

enum class TaskState : uint8_t { kWaiting, kRunning, kDone, kFailed };

// Times not yet reached are absl::InfinitePast(); worker_pid is -1 until the task starts. `node`
// is the ID (hex) of the node it ran on in a cluster run, "" otherwise.
struct RecordedTask {
  TaskID id, parent;
  std::string function;
  std::vector<ObjectID> reads;
  int num_returns = 0;
  TaskState state = TaskState::kWaiting;
  absl::Time submitted = absl::InfinitePast();
  absl::Time started = absl::InfinitePast();
  absl::Time finished = absl::InfinitePast();
  int worker_pid = -1;
  std::string node;
};

// Tasks in submission order (the root is not among them); puts as (object, task that put it).
struct TaskGraphSnapshot {
  TaskID root;
  std::vector<RecordedTask> tasks;
  std::vector<std::pair<ObjectID, TaskID>> puts;
  size_t tasks_not_recorded = 0;  // submitted after max_tasks
  size_t puts_not_recorded = 0;
};

}  // namespace ray::core
