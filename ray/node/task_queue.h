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

  // The ready queue: tasks whose arguments all exist and that no worker holds. In a cluster it
  // has lanes: lane 0 holds the tasks not placed on a node yet, lane 1 + n those placed on node
  // n (see ray/node/placement_policy.h); on one node everything stays in lane 0.
  void PushReady(const TaskID& id, size_t lane = 0) { Lane(lane).push_back(id); }  // at the back
  // Handed back or to retry: at the front of lane 0, to be placed again.
  void ReturnReady(const TaskID& id) { lanes_[0].push_front(id); }
  // Ready tasks in `lane`, after dropping those that ended from its front.
  size_t ReadySize(size_t lane = 0);
  // The ready task at `position` of `lane` (0: the next to go), or null if it has ended since.
  TaskRecord* ReadyAt(size_t position, size_t lane = 0);
  // Takes the ready task at `position` out of `lane`. REQUIRES: ReadyAt(position, lane).
  TaskRecord& TakeReady(size_t position, size_t lane = 0);
  // Moves every task of `lane` to the front of lane 0, in order (its node is gone).
  void Unplace(size_t lane);
  void ClearReady() { lanes_.assign(1, {}); }

 private:
  std::deque<TaskID>& Lane(size_t lane) {
    if (lane >= lanes_.size()) lanes_.resize(lane + 1);
    return lanes_[lane];
  }

  // Node map: a backlog of a million tasks costs a pointer per empty slot, not a whole record
  // (and records stay where they are while others are added).
  absl::node_hash_map<TaskID, TaskRecord> tasks_;
  std::vector<std::deque<TaskID>> lanes_ = std::vector<std::deque<TaskID>>(1);
};

}  // namespace ray::core
