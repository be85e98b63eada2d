// The scheduler's object table: for each object, whether it exists, its value (inline, or in
// the store), how many references and unfinished readers keep it, the tasks waiting for it,
// the objects its value references, and the gets and waits counting it down. It frees an
// object once nothing keeps it, and returns what that means for others (tasks that may now
// run, objects to delete from the store) instead of doing it: no I/O, no threads. The
// scheduler calls it under its mutex; local mode (ray/core_worker/local_runtime.h) counts its
// objects with it too, holding every value outside it as if in a store.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/function_ref.h"
#include "ray/common/id.h"

namespace ray::core {

class ObjectWaiter;

class ReferenceTable {
 public:
  struct Entry {
    bool ready = false;
    std::shared_ptr<const std::string> value;  // inline bytes (error objects too); null: in store
    uint64_t size = 0;
    int64_t refs = 0;  // ObjectRefs alive, all processes, and objects whose values name it
    int64_t uses = 0;  // unfinished tasks that read it
    std::vector<TaskID> dependents;      // readers waiting for it to be made
    std::vector<ObjectID> nested;        // objects its value references: one ref each
    std::vector<ObjectWaiter*> waiters;  // gets and waits counting it down (until ready)
    // An inline value put into the store too (for a task whose arguments did not all fit
    // inline): deleted from the store with the object.
    bool store_copy = false;
    // The nodes whose stores hold it (in the scheduler's numbering; 0 is the scheduler's own):
    // where it was made, and where it was copied to.
    absl::InlinedVector<uint16_t, 1> copies;
  };

  const Entry* Find(const ObjectID& id) const;
  bool Contains(const ObjectID& id) const { return objects_.contains(id); }
  // The value of `id` that only the table holds (inline, no copy in the store); else null.
  const std::string* InlineValue(const ObjectID& id) const {
    const Entry* entry = Find(id);
    if (entry == nullptr || entry->value == nullptr || entry->store_copy) return nullptr;
    return entry->value.get();
  }
  // Made, or not held: a get of an object that does not exist (freed, or never made) fails
  // at once rather than waiting.
  bool ReadyOrGone(const ObjectID& id) const;
  size_t size() const { return objects_.size(); }

  // An object about to be made (a task's return, a put): registers it if the table does not
  // hold it, and counts one reference to it.
  void Register(const ObjectID& id);
  // Counts a reference to an object the table holds; false (nothing counted) if it does not:
  // an object once freed stays gone.
  bool AddRef(const ObjectID& id);
  void RemoveRef(const ObjectID& id);
  // Counts one reference to each of `ids` that the table holds and drops the others from `ids`.
  void AddRefs(std::vector<ObjectID>& ids);
  void RemoveRefs(std::span<const ObjectID> ids);

  // A task that reads `id` until it ends (ReleaseUse): the object stays while it does.
  // kPending: not made yet, and MarkReady will return `reader` among its dependents.
  // kMissing: the table does not hold it; nothing is counted.
  enum class Use { kReady, kPending, kMissing };
  Use AddUse(const ObjectID& id, const TaskID& reader);
  void ReleaseUse(const ObjectID& id);

  // `id` now exists: `value` inline, or when null in the store of node `node`. It holds one
  // reference to
  // each of `nested` that the table holds while it exists. Counts its waiters down and returns
  // the tasks that waited for it (each has one unresolved argument fewer). An object made
  // again (a retried task) keeps its first value and returns nothing.
  std::vector<TaskID> MarkReady(const ObjectID& id, std::shared_ptr<const std::string> value,
                                uint64_t size, std::vector<ObjectID> nested = {},
                                uint16_t node = 0);
  // An inline value now has a copy in the store (deleted from the store with the object).
  void SetStoreCopy(const ObjectID& id);
  // The store of `node` now holds a copy of `id` too (deleted from it with the object); false
  // (nothing recorded) if the table does not hold `id` (freed since).
  bool AddCopy(const ObjectID& id, uint16_t node);
  // Node `node` is gone: its copies are. Each stored object it held alone becomes the value
  // `lost(id)` (an error); returns those.
  std::vector<ObjectID> DropNode(
      uint16_t node, absl::FunctionRef<std::shared_ptr<const std::string>(const ObjectID&)> lost);

  // An object that may be in the store though the table does not hold it (a lost attempt's
  // result): deleted from the store with the next TakeStoreDeletes.
  void QueueStoreDelete(const ObjectID& id) { store_deletes_.push_back(id); }
  // The objects to delete from the store: those freed (in the store, or with a copy there)
  // and those queued since the last call.
  std::vector<ObjectID> TakeStoreDeletes();
  bool HasStoreDeletes() const { return !store_deletes_.empty(); }
  // The objects freed that other nodes' stores hold copies of: (node, object).
  std::vector<std::pair<uint16_t, ObjectID>> TakeRemoteDeletes() {
    return std::exchange(remote_deletes_, {});
  }
  bool HasRemoteDeletes() const { return !remote_deletes_.empty(); }
  // A copy in the store of `node` of an object the table no longer holds: deleted with the next
  // TakeRemoteDeletes.
  void QueueRemoteDelete(uint16_t node, const ObjectID& id) {
    remote_deletes_.emplace_back(node, id);
  }
  // Objects whose end the owner wants to hear of (an actor's handle): once one is freed, the
  // next TakeFreedWatched gives it (once). Unwatch: no longer.
  void Watch(const ObjectID& id) { watched_.insert(id); }
  void Unwatch(const ObjectID& id) { watched_.erase(id); }
  std::vector<ObjectID> TakeFreedWatched() { return std::exchange(freed_watched_, {}); }
  bool HasFreedWatched() const { return !freed_watched_.empty(); }

 private:
  friend class ObjectWaiter;
  using Map = absl::node_hash_map<ObjectID, Entry>;

  // Frees `id` if it is made and nothing keeps it, then the objects its value referenced that
  // nothing keeps any longer: a work list, not recursion, as chains of references are long.
  void MaybeFree(const ObjectID& id);

  Map objects_;  // a node map: a slot costs a pointer, and entries stay where they are
  std::vector<ObjectID> store_deletes_;
  std::vector<std::pair<uint16_t, ObjectID>> remote_deletes_;
  absl::flat_hash_set<ObjectID> watched_;
  std::vector<ObjectID> freed_watched_;
};

// A get or a wait on objects that do not all exist yet. It registers with each object that is
// not ready and is counted down as they become ready, so that whether it is satisfied is an
// O(1) question however many objects it waits for (a driver's get of a million results is
// asked once per batch of replies). Lives under the table's owner's lock; unregisters when it
// ends. An object the table does not hold counts as ready (see ReadyOrGone).
class ObjectWaiter {
 public:
  // Satisfied once `wanted` of `ids` (occurrences, for a list with duplicates) are ready.
  ObjectWaiter(ReferenceTable& table, std::span<const ObjectID> ids, size_t wanted);
  ~ObjectWaiter();
  ObjectWaiter(const ObjectWaiter&) = delete;
  ObjectWaiter& operator=(const ObjectWaiter&) = delete;

  bool satisfied() const { return remaining_ == 0; }

 private:
  friend class ReferenceTable;
  // One of its objects became ready (MarkReady has taken this waiter off the object).
  void OneReady() {
    if (remaining_ > 0) --remaining_;
  }

  ReferenceTable& table_;
  std::vector<ObjectID> registered_;
  size_t remaining_ = 0;
};

}  // namespace ray::core
