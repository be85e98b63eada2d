#include "ray/store/object_store.h"

#include <fcntl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ray::store {

absl::StatusOr<std::unique_ptr<ObjectStore>> ObjectStore::Create(const StoreOptions& options) {
  if (options.capacity < Allocator::kAlignment) {
    return absl::InvalidArgumentError("store capacity must be at least 64 bytes");
  }
  if (options.max_objects == 0 || options.max_objects > (1u << 30)) {
    return absl::InvalidArgumentError("max_objects must be in [1, 2^30]");
  }
  auto arena = SharedMemory::Create("ray-arena", options.capacity, options.huge_pages);
  if (!arena.ok()) return arena.status();
  // Ask for 2 MiB transparent huge pages: 512 times fewer page faults for a large object.
  // Takes effect only where the kernel allows THP for shared memory
  // (/sys/kernel/mm/transparent_hugepage/shmem_enabled: advise, within_size or always).
  if (!arena->huge_pages()) (void)madvise(arena->data(), arena->size(), MADV_HUGEPAGE);
  auto index = SharedMemory::Create("ray-index", ObjectIndex::RegionSize(options.max_objects));
  if (!index.ok()) return index.status();
  if (options.preallocate) {
    // The index too: its records and buckets are touched at random by puts.
    for (SharedMemory* memory : {&*arena, &*index}) {
      if (madvise(memory->data(), memory->size(), MADV_POPULATE_WRITE) != 0 &&
          fallocate(memory->fd(), 0, 0, memory->size()) != 0) {  // kernels before 5.14
        return absl::ResourceExhaustedError(
            absl::StrCat("cannot preallocate ", memory->size(),
                         " bytes of shared memory: ", std::strerror(errno)));
      }
    }
  }
  return std::unique_ptr<ObjectStore>(
      new ObjectStore(options, *std::move(arena), *std::move(index)));
}

ObjectStore::ObjectStore(const StoreOptions& options, SharedMemory arena, SharedMemory index_memory)
    : arena_(std::move(arena)),
      index_memory_(std::move(index_memory)),
      index_(ObjectIndex::Format(index_memory_.data(), options.max_objects)),
      allocator_(options.capacity),
      creator_(options.max_objects, 0),
      evictable_(options.max_objects, 0),
      lru_key_(options.max_objects, 0),
      max_clients_(options.max_clients),
      owner_token_(options.owner_token) {}

namespace {

// Compares secrets in time independent of where they differ.
bool SameSecret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char differ = 0;
  for (size_t i = 0; i < a.size(); ++i) differ |= static_cast<unsigned char>(a[i] ^ b[i]);
  return differ == 0;
}

}  // namespace

absl::StatusOr<ClientId> ObjectStore::AddClient(std::string name, std::string_view owner_token) {
  bool owner = !owner_token.empty();
  if (owner && (owner_token_.empty() || !SameSecret(owner_token, owner_token_))) {
    return absl::PermissionDeniedError("wrong owner token: this client may not own the store");
  }
  if (clients_.size() >= max_clients_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the store already serves ", max_clients_, " clients, the most it allows (--max_clients)"));
  }
  auto pins = SharedMemory::Create("ray-pins", ObjectIndex::PinRegionSize(index_.max_objects()));
  if (!pins.ok()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the store cannot take another client now: ", pins.status().message()));
  }
  ClientId id = next_client_++;
  clients_[id] = Client{std::move(name), owner, *std::move(pins), {}};
  return id;
}

void ObjectStore::RemoveClient(ClientId client) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  absl::flat_hash_set<uint32_t> unsealed = std::move(it->second.unsealed);
  clients_.erase(it);
  for (uint32_t r : unsealed) RemoveUnsealed(r);
  std::vector<uint32_t> pending(delete_pending_.begin(), delete_pending_.end());
  for (uint32_t r : pending) OnReleased(r);
}

const SharedMemory& ObjectStore::pins(ClientId client) const { return clients_.at(client).pins; }

std::atomic<uint32_t>* ObjectStore::PinArray(const Client& client) const {
  return reinterpret_cast<std::atomic<uint32_t>*>(client.pins.data());
}

bool ObjectStore::IsPinned(uint32_t record) const {
  for (const auto& [id, client] : clients_) {
    if (PinArray(client)[record].load(std::memory_order_seq_cst) != 0) return true;
  }
  return false;
}

std::optional<uint64_t> ObjectStore::AllocateWithEviction(uint64_t size) {
  auto fits = [&]() -> std::optional<uint64_t> {
    if (index_.num_objects() >= index_.max_objects()) return std::nullopt;
    return allocator_.Allocate(size);
  };
  if (auto offset = fits()) return offset;
  if (size > allocator_.capacity()) return std::nullopt;
  for (auto it = lru_.begin(); it != lru_.end();) {
    auto [key, r] = *it++;
    uint64_t last_access = index_.record(r).last_access_ns.load(std::memory_order_relaxed);
    if (last_access > key) {  // read since we last looked: move it back in the queue
      lru_.erase({key, r});
      lru_key_[r] = last_access;
      lru_.insert({last_access, r});
      continue;
    }
    if (!TryRemove(r)) continue;
    ++evictions_;
    if (auto offset = fits()) return offset;
  }
  return std::nullopt;
}

bool ObjectStore::TryRemove(uint32_t record) {
  auto state = static_cast<ObjectState>(index_.record(record).state.load());
  index_.SetState(record, ObjectState::kDeleting);
  if (IsPinned(record)) {
    index_.SetState(record, state, static_cast<ObjectError>(index_.record(record).error.load()));
    return false;
  }
  Remove(record);
  return true;
}

void ObjectStore::Remove(uint32_t record) {
  ObjectRecord& rec = index_.record(record);
  if (static_cast<ObjectState>(rec.state.load()) != ObjectState::kFailed) {
    allocator_.Free(rec.offset.load());
  }
  lru_.erase({lru_key_[record], record});
  delete_pending_.erase(record);
  index_.Remove(record);
}

void ObjectStore::RemoveUnsealed(uint32_t record) {
  ObjectID id = index_.IdOf(record);
  Remove(record);
  if (on_aborted_) on_aborted_(id);
}

absl::StatusOr<ObjectSnapshot> ObjectStore::CreateObject(ClientId client, const ObjectID& id,
                                                         uint64_t size, ObjectOptions options) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return absl::InvalidArgumentError("unknown client");
  if (index_.Find(id)) {
    return absl::AlreadyExistsError(absl::StrCat("object ", id.Hex(), " already exists"));
  }
  std::optional<uint64_t> offset = AllocateWithEviction(size);
  if (!offset) {
    return absl::ResourceExhaustedError(
        absl::StrCat("ObjectStoreFull: cannot fit object ", id.Hex(), " of ", size,
                     " bytes (capacity ", allocator_.capacity(), ", in use ",
                     allocator_.allocated_bytes(), ", pinned objects are never evicted)"));
  }
  uint32_t r = *index_.Insert(id, ObjectState::kCreated, *offset, size);
  PinArray(it->second)[r].fetch_add(1);
  it->second.unsealed.insert(r);
  creator_[r] = client;
  evictable_[r] = options.evictable;
  return ObjectSnapshot{r, ObjectState::kCreated, *offset, size, 0, ObjectError::kNone};
}

void ObjectStore::MarkSealed(uint32_t record, const ObjectID& id) {
  if (evictable_[record]) {
    lru_key_[record] = MonotonicNanos();
    lru_.insert({lru_key_[record], record});
  }
  if (on_sealed_) on_sealed_(id);
}

absl::Status ObjectStore::Seal(ClientId client, const ObjectID& id) {
  auto snap = index_.Find(id);
  if (!snap) return absl::NotFoundError(absl::StrCat("object ", id.Hex(), " does not exist"));
  if (snap->state != ObjectState::kCreated) {
    return absl::FailedPreconditionError(absl::StrCat("object ", id.Hex(), " is already sealed"));
  }
  if (creator_[snap->record] != client) {
    return absl::PermissionDeniedError(
        absl::StrCat("object ", id.Hex(), " was created by another client"));
  }
  clients_[client].unsealed.erase(snap->record);
  index_.SetState(snap->record, ObjectState::kSealed);
  MarkSealed(snap->record, id);
  return absl::OkStatus();
}

absl::Status ObjectStore::Abort(ClientId client, const ObjectID& id) {
  auto snap = index_.Find(id);
  if (!snap) return absl::NotFoundError(absl::StrCat("object ", id.Hex(), " does not exist"));
  if (snap->state != ObjectState::kCreated) {
    return absl::FailedPreconditionError(
        absl::StrCat("object ", id.Hex(), " is sealed; abort needs an unsealed object"));
  }
  auto it = clients_.find(client);
  if (it == clients_.end() || creator_[snap->record] != client) {
    return absl::PermissionDeniedError(
        absl::StrCat("object ", id.Hex(), " was created by another client"));
  }
  it->second.unsealed.erase(snap->record);
  PinArray(it->second)[snap->record].store(0);
  RemoveUnsealed(snap->record);
  return absl::OkStatus();
}

absl::Status ObjectStore::PutSealed(ClientId client, const ObjectID& id,
                                    std::span<const uint8_t> data, ObjectOptions options) {
  if (index_.Find(id)) {
    return absl::AlreadyExistsError(absl::StrCat("object ", id.Hex(), " already exists"));
  }
  std::optional<uint64_t> offset = AllocateWithEviction(data.size());
  if (!offset) {
    // Record the failure so that readers get an error instead of waiting forever.
    if (auto r = index_.Insert(id, ObjectState::kFailed, 0, 0)) {
      index_.SetState(*r, ObjectState::kFailed, ObjectError::kStoreFull);
      creator_[*r] = client;
      evictable_[*r] = options.evictable;
      MarkSealed(*r, id);
    }
    return absl::ResourceExhaustedError(absl::StrCat("ObjectStoreFull: cannot fit object ",
                                                     id.Hex(), " of ", data.size(), " bytes"));
  }
  if (!data.empty()) std::memcpy(arena_.data() + *offset, data.data(), data.size());
  uint32_t r = *index_.Insert(id, ObjectState::kSealed, *offset, data.size());
  creator_[r] = client;
  evictable_[r] = options.evictable;
  MarkSealed(r, id);
  return absl::OkStatus();
}

absl::Status ObjectStore::Delete(ClientId client, const ObjectID& id) {
  auto snap = index_.Find(id);
  if (!snap) return absl::NotFoundError(absl::StrCat("object ", id.Hex(), " does not exist"));
  if (snap->state == ObjectState::kCreated) {
    return absl::FailedPreconditionError(
        absl::StrCat("object ", id.Hex(), " is not sealed; its creator may abort it"));
  }
  auto it = clients_.find(client);
  bool owner = it != clients_.end() && it->second.owner;
  if (!evictable_[snap->record] && !owner && creator_[snap->record] != client) {
    return absl::PermissionDeniedError(
        absl::StrCat("object ", id.Hex(),
                     " is kept for its references; only its creator or the store's owner "
                     "may delete it"));
  }
  if (!TryRemove(snap->record)) {
    index_.SetFlags(snap->record, kDeletePending);
    delete_pending_.insert(snap->record);
  }
  return absl::OkStatus();
}

void ObjectStore::OnReleased(uint32_t record) {
  if (record < index_.max_objects() && delete_pending_.contains(record)) TryRemove(record);
}

std::optional<ObjectSnapshot> ObjectStore::PinSealed(ClientId client, const ObjectID& id) {
  auto it = clients_.find(client);
  auto snap = index_.Find(id);
  if (it == clients_.end() || !snap) return std::nullopt;
  if (snap->state != ObjectState::kSealed && snap->state != ObjectState::kFailed) {
    return std::nullopt;
  }
  if (snap->state == ObjectState::kSealed) PinArray(it->second)[snap->record].fetch_add(1);
  index_.record(snap->record).last_access_ns.store(MonotonicNanos(), std::memory_order_relaxed);
  return snap;
}

bool ObjectStore::Contains(const ObjectID& id) const {
  auto snap = index_.Find(id);
  return snap && snap->state == ObjectState::kSealed;
}

StoreStats ObjectStore::Stats() const {
  return StoreStats{allocator_.capacity(), allocator_.allocated_bytes(),
                    static_cast<uint32_t>(index_.num_objects()), evictions_};
}

}  // namespace ray::store
