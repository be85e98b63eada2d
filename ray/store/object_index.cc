#include "ray/store/object_index.h"

#include <time.h>

#include <bit>
#include <cstring>

namespace ray::store {
namespace {

constexpr uint64_t kMagic = 0x7261792d696e6478ull;  // "ray-indx"

struct alignas(64) IndexHeader {
  uint64_t magic;
  uint32_t max_objects;
  uint32_t num_buckets;
};

uint32_t NumBuckets(uint32_t max_objects) {
  return std::bit_ceil(std::max<uint32_t>(max_objects, 8) * 2);
}

void LoadId(const ObjectRecord& rec, uint64_t words[3]) {
  for (int i = 0; i < 3; ++i) words[i] = rec.id_words[i].load(std::memory_order_relaxed);
}

bool SameId(const uint64_t words[3], const ObjectID& id) {
  return std::memcmp(words, id.data(), ObjectID::kSize) == 0;
}

}  // namespace

uint64_t MonotonicNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

size_t ObjectIndex::RegionSize(uint32_t max_objects) {
  return sizeof(IndexHeader) + sizeof(ObjectRecord) * max_objects +
         sizeof(uint32_t) * NumBuckets(max_objects);
}

ObjectIndex::ObjectIndex(uint8_t* base, uint32_t max_objects)
    : records_(reinterpret_cast<ObjectRecord*>(base + sizeof(IndexHeader))),
      buckets_(reinterpret_cast<std::atomic<uint32_t>*>(records_ + max_objects)),
      max_objects_(max_objects),
      bucket_mask_(NumBuckets(max_objects) - 1) {}

ObjectIndex ObjectIndex::Format(uint8_t* base, uint32_t max_objects) {
  auto* header = reinterpret_cast<IndexHeader*>(base);
  header->magic = kMagic;
  header->max_objects = max_objects;
  header->num_buckets = NumBuckets(max_objects);
  ObjectIndex index(base, max_objects);
  index.free_records_.reserve(max_objects);
  for (uint32_t r = max_objects; r > 0; --r) index.free_records_.push_back(r - 1);
  index.record_hash_.assign(max_objects, 0);
  return index;
}

std::optional<ObjectIndex> ObjectIndex::Attach(uint8_t* base, size_t region_size) {
  if (region_size < sizeof(IndexHeader)) return std::nullopt;
  auto* header = reinterpret_cast<const IndexHeader*>(base);
  if (header->magic != kMagic || header->num_buckets != NumBuckets(header->max_objects) ||
      RegionSize(header->max_objects) > region_size) {
    return std::nullopt;
  }
  return ObjectIndex(base, header->max_objects);
}

std::optional<ObjectSnapshot> ObjectIndex::Read(uint32_t r, const ObjectID& id) const {
  const ObjectRecord& rec = records_[r];
  for (int attempt = 0; attempt < 64; ++attempt) {
    uint32_t seq = rec.seq.load(std::memory_order_acquire);
    if (seq & 1) continue;
    uint64_t words[3];
    LoadId(rec, words);
    ObjectSnapshot snap;
    snap.record = r;
    snap.state = static_cast<ObjectState>(rec.state.load(std::memory_order_relaxed));
    snap.offset = rec.offset.load(std::memory_order_relaxed);
    snap.size = rec.size.load(std::memory_order_relaxed);
    snap.flags = rec.flags.load(std::memory_order_relaxed);
    snap.error = static_cast<ObjectError>(rec.error.load(std::memory_order_relaxed));
    std::atomic_thread_fence(std::memory_order_acquire);
    if (rec.seq.load(std::memory_order_relaxed) != seq) continue;
    if (!SameId(words, id) || snap.state == ObjectState::kFree) return std::nullopt;
    return snap;
  }
  return std::nullopt;
}

std::optional<ObjectSnapshot> ObjectIndex::Find(const ObjectID& id) const {
  uint32_t b = Bucket(id.StableHash());
  for (uint32_t probes = 0; probes <= bucket_mask_; ++probes, b = (b + 1) & bucket_mask_) {
    uint32_t entry = buckets_[b].load(std::memory_order_acquire);
    if (entry == 0 || entry > max_objects_) return std::nullopt;
    if (auto snap = Read(entry - 1, id)) return snap;
  }
  return std::nullopt;
}

template <typename Write>
void ObjectIndex::Rewrite(uint32_t r, Write write) {
  ObjectRecord& rec = records_[r];
  uint32_t seq = rec.seq.load(std::memory_order_relaxed);
  rec.seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  write(rec);
  rec.seq.store(seq + 2, std::memory_order_release);
  // Pairs with a client's pin (an atomic increment, then a re-read of the state): after this
  // fence the store's next look at the pin counters sees any pin that missed this write.
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

std::optional<uint32_t> ObjectIndex::Insert(const ObjectID& id, ObjectState state, uint64_t offset,
                                            uint64_t size) {
  if (free_records_.empty()) return std::nullopt;
  uint32_t r = free_records_.back();
  free_records_.pop_back();
  Rewrite(r, [&](ObjectRecord& rec) {
    uint64_t words[3];
    std::memcpy(words, id.data(), ObjectID::kSize);
    for (int i = 0; i < 3; ++i) rec.id_words[i].store(words[i], std::memory_order_relaxed);
    rec.state.store(static_cast<uint32_t>(state), std::memory_order_relaxed);
    rec.offset.store(offset, std::memory_order_relaxed);
    rec.size.store(size, std::memory_order_relaxed);
    rec.flags.store(0, std::memory_order_relaxed);
    rec.error.store(0, std::memory_order_relaxed);
    rec.last_access_ns.store(0, std::memory_order_relaxed);
  });
  uint64_t hash = id.StableHash();
  record_hash_[r] = hash;
  uint32_t b = Bucket(hash);
  while (buckets_[b].load(std::memory_order_relaxed) != 0) b = (b + 1) & bucket_mask_;
  buckets_[b].store(r + 1, std::memory_order_release);
  return r;
}

void ObjectIndex::SetState(uint32_t r, ObjectState state, ObjectError error) {
  Rewrite(r, [&](ObjectRecord& rec) {
    rec.state.store(static_cast<uint32_t>(state), std::memory_order_relaxed);
    rec.error.store(static_cast<uint32_t>(error), std::memory_order_relaxed);
  });
}

void ObjectIndex::SetFlags(uint32_t r, uint32_t flags) {
  Rewrite(r, [&](ObjectRecord& rec) { rec.flags.store(flags, std::memory_order_relaxed); });
}

void ObjectIndex::Remove(uint32_t r) {
  // Find r's bucket, then shift later members of the probe run back over the hole
  // (backward-shift deletion: no tombstones, probe runs stay short).
  uint32_t hole = Bucket(record_hash_[r]);
  while (buckets_[hole].load(std::memory_order_relaxed) != r + 1) {
    hole = (hole + 1) & bucket_mask_;
  }
  for (uint32_t next = (hole + 1) & bucket_mask_;; next = (next + 1) & bucket_mask_) {
    uint32_t entry = buckets_[next].load(std::memory_order_relaxed);
    if (entry == 0) break;
    uint32_t home = Bucket(record_hash_[entry - 1]);
    // `entry` may move to `hole` if its home is not in the cyclic range (hole, next].
    bool home_between =
        hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
    if (!home_between) {
      buckets_[hole].store(entry, std::memory_order_release);
      hole = next;
    }
  }
  buckets_[hole].store(0, std::memory_order_release);
  SetState(r, ObjectState::kFree);
  free_records_.push_back(r);
}

ObjectID ObjectIndex::IdOf(uint32_t r) const {
  uint64_t words[3];
  LoadId(records_[r], words);
  return ObjectID::FromBinaryOrNil(
      std::string_view(reinterpret_cast<const char*>(words), ObjectID::kSize));
}

}  // namespace ray::store
