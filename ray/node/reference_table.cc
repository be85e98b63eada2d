#include "ray/node/reference_table.h"

#include <algorithm>
#include <utility>

namespace ray::core {

const ReferenceTable::Entry* ReferenceTable::Find(const ObjectID& id) const {
  auto it = objects_.find(id);
  return it == objects_.end() ? nullptr : &it->second;
}

bool ReferenceTable::ReadyOrGone(const ObjectID& id) const {
  const Entry* entry = Find(id);
  return entry == nullptr || entry->ready;
}

void ReferenceTable::Register(const ObjectID& id) { objects_[id].refs += 1; }

bool ReferenceTable::AddRef(const ObjectID& id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return false;
  it->second.refs += 1;
  return true;
}

void ReferenceTable::RemoveRef(const ObjectID& id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  it->second.refs -= 1;
  MaybeFree(id);
}

void ReferenceTable::AddRefs(std::vector<ObjectID>& ids) {
  std::erase_if(ids, [&](const ObjectID& id) { return !AddRef(id); });
}

void ReferenceTable::RemoveRefs(std::span<const ObjectID> ids) {
  for (const ObjectID& id : ids) RemoveRef(id);
}

ReferenceTable::Use ReferenceTable::AddUse(const ObjectID& id, const TaskID& reader) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return Use::kMissing;
  it->second.uses += 1;
  if (it->second.ready) return Use::kReady;
  it->second.dependents.push_back(reader);
  return Use::kPending;
}

void ReferenceTable::ReleaseUse(const ObjectID& id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  it->second.uses -= 1;
  MaybeFree(id);
}

std::vector<TaskID> ReferenceTable::MarkReady(const ObjectID& id,
                                              std::shared_ptr<const std::string> value,
                                              uint64_t size, std::vector<ObjectID> nested,
                                              uint16_t node) {
  if (!nested.empty()) {
    if (auto it = objects_.find(id); it != objects_.end() && it->second.ready) {
      return {};  // made again: its references are held already
    }
    AddRefs(nested);  // before `entry`: it touches objects_ (never this entry)
  }
  Entry& entry = objects_[id];
  if (entry.ready) return {};  // made again
  entry.ready = true;
  if (value == nullptr) entry.copies.assign(1, node);
  entry.value = std::move(value);
  entry.size = size;
  entry.nested = std::move(nested);
  for (ObjectWaiter* waiter : entry.waiters) waiter->OneReady();
  entry.waiters.clear();
  std::vector<TaskID> dependents = std::move(entry.dependents);
  entry.dependents.clear();
  // Not freed while a dependent's use counts; one that ended meanwhile (failed) no longer
  // keeps it.
  MaybeFree(id);
  return dependents;
}

void ReferenceTable::SetStoreCopy(const ObjectID& id) {
  if (auto it = objects_.find(id); it != objects_.end()) {
    it->second.store_copy = true;
    AddCopy(id, 0);
  }
}

bool ReferenceTable::AddCopy(const ObjectID& id, uint16_t node) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return false;
  auto& copies = it->second.copies;
  if (std::find(copies.begin(), copies.end(), node) == copies.end()) copies.push_back(node);
  return true;
}

std::vector<ObjectID> ReferenceTable::DropNode(
    uint16_t node, absl::FunctionRef<std::shared_ptr<const std::string>(const ObjectID&)> lost) {
  std::vector<ObjectID> lost_ids;
  for (auto& [id, entry] : objects_) {
    auto at = std::find(entry.copies.begin(), entry.copies.end(), node);
    if (at == entry.copies.end()) continue;
    entry.copies.erase(at);
    if (entry.copies.empty() && entry.value == nullptr) {
      entry.value = lost(id);
      entry.size = entry.value->size();
      lost_ids.push_back(id);
    }
  }
  return lost_ids;
}

std::vector<ObjectID> ReferenceTable::TakeStoreDeletes() {
  return std::exchange(store_deletes_, {});
}

void ReferenceTable::MaybeFree(const ObjectID& id) {
  std::vector<ObjectID> released;  // allocates only when a freed object held references
  auto free_if_unused = [&](Map::iterator it) {
    Entry& entry = it->second;
    if (!entry.ready || entry.refs > 0 || entry.uses > 0 || !entry.dependents.empty()) return;
    for (uint16_t node : entry.copies) {
      if (node == 0) {
        store_deletes_.push_back(it->first);
      } else {
        remote_deletes_.emplace_back(node, it->first);
      }
    }
    for (const ObjectID& n : entry.nested) released.push_back(n);
    if (!watched_.empty() && watched_.erase(it->first) > 0) freed_watched_.push_back(it->first);
    objects_.erase(it);
  };
  if (auto it = objects_.find(id); it != objects_.end()) free_if_unused(it);
  while (!released.empty()) {
    auto it = objects_.find(released.back());
    released.pop_back();
    if (it == objects_.end()) continue;
    it->second.refs -= 1;
    free_if_unused(it);
  }
}

ObjectWaiter::ObjectWaiter(ReferenceTable& table, std::span<const ObjectID> ids, size_t wanted)
    : table_(table) {
  size_t ready = 0;
  for (const ObjectID& id : ids) {
    auto it = table.objects_.find(id);
    if (it == table.objects_.end() || it->second.ready) {
      ++ready;
    } else {
      it->second.waiters.push_back(this);
      registered_.push_back(id);
    }
  }
  remaining_ = ready >= wanted ? 0 : wanted - ready;
}

ObjectWaiter::~ObjectWaiter() {
  for (const ObjectID& id : registered_) {
    if (auto it = table_.objects_.find(id); it != table_.objects_.end()) {
      std::erase(it->second.waiters, this);
    }
  }
}

}  // namespace ray::core
