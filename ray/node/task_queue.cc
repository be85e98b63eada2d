#include "ray/node/task_queue.h"

namespace ray::core {

std::pair<TaskRecord*, bool> TaskQueue::Add(TaskRecord task) {
  const TaskID id = task.id;
  auto [entry, inserted] = tasks_.try_emplace(id, std::move(task));
  return {&entry->second, inserted};
}

TaskRecord* TaskQueue::Find(const TaskID& id) {
  auto it = tasks_.find(id);
  return it == tasks_.end() ? nullptr : &it->second;
}

std::vector<TaskID> TaskQueue::Ids() const {
  std::vector<TaskID> ids;
  ids.reserve(tasks_.size());
  for (const auto& [id, task] : tasks_) ids.push_back(id);
  return ids;
}

size_t TaskQueue::ReadySize(size_t lane) {
  std::deque<TaskID>& ready = Lane(lane);
  while (!ready.empty() && !tasks_.contains(ready.front())) ready.pop_front();
  return ready.size();
}

TaskRecord* TaskQueue::ReadyAt(size_t position, size_t lane) {
  std::deque<TaskID>& ready = Lane(lane);
  return position < ready.size() ? Find(ready[position]) : nullptr;
}

TaskRecord& TaskQueue::TakeReady(size_t position, size_t lane) {
  std::deque<TaskID>& ready = Lane(lane);
  TaskRecord& task = tasks_.at(ready[position]);
  ready.erase(ready.begin() + static_cast<std::ptrdiff_t>(position));
  return task;
}

void TaskQueue::Unplace(size_t lane) {
  if (lane == 0 || lane >= lanes_.size()) return;
  std::deque<TaskID> moved = std::move(lanes_[lane]);
  lanes_[lane].clear();
  lanes_[0].insert(lanes_[0].begin(), moved.begin(), moved.end());
}

}  // namespace ray::core
