// The store's state and rules, without I/O: the arena and its allocator, the shared object
// index, each client's pins, LRU eviction and deferred deletes. Driven by StoreServer from one
// event-loop thread; not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "ray/common/id.h"
#include "ray/store/allocator.h"
#include "ray/store/object_index.h"
#include "ray/store/object_options.h"
#include "ray/store/shared_memory.h"

namespace ray::store {

struct StoreOptions {
  uint64_t capacity = 1ull << 30;  // bytes of object memory
  uint32_t max_objects = 1 << 20;  // records in the index
  bool huge_pages = false;         // try 2 MiB pages for the arena
  // Allocate, zero and map every page of the arena at startup, so that no put pays for it
  // (page allocation and zeroing at first touch cost ~1 us per 4 KiB page).
  bool preallocate = false;
  // Clients (sessions) at once; each holds a descriptor and a pin array in the store.
  uint32_t max_clients = 1024;
  // A client that connects with this secret is the store's owner (see AddClient); empty: the
  // store has no owner.
  std::string owner_token;
};

struct StoreStats {
  uint64_t capacity = 0;
  uint64_t used = 0;
  uint32_t objects = 0;
  uint64_t evictions = 0;
};

using ClientId = uint32_t;

class ObjectStore {
 public:
  static absl::StatusOr<std::unique_ptr<ObjectStore>> Create(const StoreOptions& options);

  // A new client gets a zeroed pin array. With `owner_token` equal to the store's, it is the
  // owner: it may delete any object (the node's reference counter does). Errors:
  // PermissionDenied (a token that is not the store's), ResourceExhausted when `max_clients`
  // are connected or the process is out of descriptors.
  absl::StatusOr<ClientId> AddClient(std::string name, std::string_view owner_token = {});
  // Drops the client's pins and aborts the objects it created and did not seal.
  void RemoveClient(ClientId client);

  const SharedMemory& arena() const { return arena_; }
  const SharedMemory& index_memory() const { return index_memory_; }
  const SharedMemory& pins(ClientId client) const;
  uint64_t capacity() const { return allocator_.capacity(); }

  // Reserves an object for `client`, who holds one pin on it. Errors: AlreadyExists,
  // ResourceExhausted ("ObjectStoreFull") when it does not fit after evicting what may be.
  absl::StatusOr<ObjectSnapshot> CreateObject(ClientId client, const ObjectID& id, uint64_t size,
                                              ObjectOptions options = {});
  // Errors: NotFound, FailedPrecondition (already sealed), PermissionDenied (not the creator).
  absl::Status Seal(ClientId client, const ObjectID& id);
  // Frees an unsealed object of `client`, dropping the creator's pin.
  absl::Status Abort(ClientId client, const ObjectID& id);
  // Stores and seals `data` as `id` for `client`, with no pin. When it does not fit, the object
  // is recorded as failed (readers get the error instead of waiting) and ResourceExhausted
  // returned.
  absl::Status PutSealed(ClientId client, const ObjectID& id, std::span<const uint8_t> data,
                         ObjectOptions options = {});
  // Deletes now, or when the last pin goes. Errors: NotFound, FailedPrecondition (unsealed),
  // PermissionDenied (an object that is not evictable, and `client` is neither its creator nor
  // the owner).
  absl::Status Delete(ClientId client, const ObjectID& id);
  // Tells the store that a pin on `record` was released (for deferred deletes).
  void OnReleased(uint32_t record);

  // The sealed (or failed) object `id`, pinned once more for `client`; nullopt if absent.
  std::optional<ObjectSnapshot> PinSealed(ClientId client, const ObjectID& id);
  bool Contains(const ObjectID& id) const;
  std::optional<ObjectSnapshot> Find(const ObjectID& id) const { return index_.Find(id); }
  StoreStats Stats() const;

  // Called after every seal (also for failed objects), with the object's ID.
  void SetSealCallback(std::function<void(const ObjectID&)> callback) {
    on_sealed_ = std::move(callback);
  }
  // Called when an object is removed before it was sealed (aborted, or its creator left).
  void SetAbortCallback(std::function<void(const ObjectID&)> callback) {
    on_aborted_ = std::move(callback);
  }

 private:
  struct Client {
    std::string name;
    bool owner = false;
    SharedMemory pins;
    absl::flat_hash_set<uint32_t> unsealed;  // records this client created, not yet sealed
  };

  ObjectStore(const StoreOptions& options, SharedMemory arena, SharedMemory index_memory);
  std::atomic<uint32_t>* PinArray(const Client& client) const;
  bool IsPinned(uint32_t record) const;
  // Allocates `size` bytes and a free record, evicting unpinned sealed objects (least
  // recently used first) until both fit.
  std::optional<uint64_t> AllocateWithEviction(uint64_t size);
  // Removes a record if nobody pins it; returns false (and changes nothing) otherwise.
  bool TryRemove(uint32_t record);
  void Remove(uint32_t record);
  void MarkSealed(uint32_t record, const ObjectID& id);
  // Removes an object that was never sealed, telling the abort callback.
  void RemoveUnsealed(uint32_t record);

  SharedMemory arena_;
  SharedMemory index_memory_;
  ObjectIndex index_;
  Allocator allocator_;
  absl::flat_hash_map<ClientId, Client> clients_;
  ClientId next_client_ = 1;
  std::vector<ClientId> creator_;                // per record
  std::vector<uint8_t> evictable_;               // per record: ObjectOptions::evictable
  std::vector<uint64_t> lru_key_;                // per record: its key in lru_
  std::set<std::pair<uint64_t, uint32_t>> lru_;  // (last use ns, record), sealed objects only
  absl::flat_hash_set<uint32_t> delete_pending_;
  uint64_t evictions_ = 0;
  uint32_t max_clients_;
  std::string owner_token_;
  std::function<void(const ObjectID&)> on_sealed_;
  std::function<void(const ObjectID&)> on_aborted_;
};

}  // namespace ray::store
