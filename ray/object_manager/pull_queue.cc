#include "ray/object_manager/pull_queue.h"

namespace ray::object_manager {

void PullQueue::Add(uint64_t transfer, int priority) {
  auto it = entries_.find(transfer);
  if (it != entries_.end()) {
    if (std::get<0>(it->second) <= priority) return;
    order_.erase(it->second);
    entries_.erase(it);
  }
  Key key{priority, turns_++, transfer};
  order_.insert(key);
  entries_[transfer] = key;
}

void PullQueue::Remove(uint64_t transfer) {
  auto it = entries_.find(transfer);
  if (it == entries_.end()) return;
  order_.erase(it->second);
  entries_.erase(it);
}

std::optional<uint64_t> PullQueue::Next() {
  if (order_.empty()) return std::nullopt;
  if (in_flight_ > 0 && in_flight_ + chunk_bytes_ > max_bytes_in_flight_) return std::nullopt;
  auto [priority, turn, transfer] = *order_.begin();
  order_.erase(order_.begin());
  Key key{priority, turns_++, transfer};
  order_.insert(key);
  entries_[transfer] = key;
  return transfer;
}

}  // namespace ray::object_manager
