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

size_t TaskQueue::ReadySize() {
  while (!ready_.empty() && !tasks_.contains(ready_.front())) ready_.pop_front();
  return ready_.size();
}

TaskRecord* TaskQueue::ReadyAt(size_t position) {
  return position < ready_.size() ? Find(ready_[position]) : nullptr;
}

TaskRecord& TaskQueue::TakeReady(size_t position) {
  TaskRecord& task = tasks_.at(ready_[position]);
  ready_.erase(ready_.begin() + static_cast<std::ptrdiff_t>(position));
  return task;
}

}  // namespace ray::core
