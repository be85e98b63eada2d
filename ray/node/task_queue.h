// The scheduler's tasks: every task that has not ended (waiting for its arguments, ready, or on
// a worker) by ID, and the ready ones in the order they go to workers. No I/O; not thread-safe
// (the scheduler holds its mutex).
#pragma once

#include <cstddef>
#include <deque>
#include <utility>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "ray/common/id.h"
#include "ray/node/task_record.h"

namespace ray::core {

class TaskQueue {
 public:
  // Adds `task` unless a task with its ID is there (a duplicate submission): the record, and
  // whether it was added.
  std::pair<TaskRecord*, bool> Add(TaskRecord task);
  // The task, or null once it has ended (or was never added).
  TaskRecord* Find(const TaskID& id);
  bool Contains(const TaskID& id) const { return tasks_.contains(id); }
  // REQUIRES: Contains(id).
  TaskRecord& At(const TaskID& id) { return tasks_.at(id); }
  // The task has ended. It leaves the ready queue too.
  void Erase(const TaskID& id) { tasks_.erase(id); }
  std::vector<TaskID> Ids() const;
  size_t size() const { return tasks_.size(); }

  // The ready queue: tasks whose arguments all exist and that no worker holds.
  void PushReady(const TaskID& id) { ready_.push_back(id); }     // newly ready: at the back
  void ReturnReady(const TaskID& id) { ready_.push_front(id); }  // handed back or to retry
  // Ready tasks, after dropping those that ended from the front of the queue.
  size_t ReadySize();
  // The ready task at `position` (0: the next to go), or null if it has ended since.
  TaskRecord* ReadyAt(size_t position);
  // Takes the ready task at `position` out of the ready queue. REQUIRES: ReadyAt(position).
  TaskRecord& TakeReady(size_t position);
  void ClearReady() { ready_.clear(); }

 private:
  // Node map: a backlog of a million tasks costs a pointer per empty slot, not a whole record
  // (and records stay where they are while others are added).
  absl::node_hash_map<TaskID, TaskRecord> tasks_;
  std::deque<TaskID> ready_;
};

}  // namespace ray::core
