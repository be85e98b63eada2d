#include "ray/node/worker_pool.h"

#include <algorithm>

namespace ray::core {

bool WorkerRecord::CanSuspendItsGet() const {
  // A suspended request is not looked at: not one with a deadline, nor a wait (which may have
  // its answer long before a nested task ends).
  return state == State::kBlocked && !broken && pending.size() == 1 && !pending[0].is_wait &&
         pending[0].deadline == absl::InfiniteFuture();
}

WorkerRecord& WorkerPool::Add(std::unique_ptr<WorkerRecord> worker) {
  auto dead = std::find_if(slots_.begin(), slots_.end(), [](const auto& w) {
    return w->state == WorkerState::kDead && !w->process.valid();
  });
  worker->index = dead - slots_.begin();
  Unpool(*worker);  // the slot's earlier worker, if it was pooled
  if (worker->pooled()) {
    pooled_.insert(std::upper_bound(pooled_.begin(), pooled_.end(), worker->index), worker->index);
  }
  if (dead != slots_.end()) {
    *dead = std::move(worker);
    return **dead;
  }
  slots_.push_back(std::move(worker));
  return *slots_.back();
}

void WorkerPool::Unpool(const WorkerRecord& worker) {
  auto it = std::lower_bound(pooled_.begin(), pooled_.end(), worker.index);
  if (it != pooled_.end() && *it == worker.index) pooled_.erase(it);
}

int WorkerPool::CountUsable() const {
  int usable = 0;
  for (const auto& w : slots_) usable += IsUsable(w->state, w->broken);
  return usable;
}

std::vector<pid_t> WorkerPool::Pids() const {
  std::vector<pid_t> pids;
  for (const auto& w : slots_) {
    if (w->state != WorkerState::kDead && w->pid > 0) pids.push_back(w->pid);
  }
  return pids;
}

std::vector<WorkerRecord*> WorkerPool::IdleToRetire(int keep, absl::Duration timeout,
                                                    absl::Time now, absl::Time& next) const {
  std::vector<WorkerRecord*> retire;
  int alive = 0;
  for (int i : pooled_) alive += IsUsable(slots_[i]->state, slots_[i]->broken);
  for (int i : pooled_) {
    if (alive <= keep) break;
    const auto& w = slots_[i];
    if (w->state != WorkerState::kIdle || w->broken || !w->assigned.empty()) continue;
    absl::Time due = w->idle_since + timeout;
    if (due > now) {
      next = std::min(next, due);
      continue;
    }
    retire.push_back(w.get());
    --alive;
  }
  return retire;
}

}  // namespace ray::core
