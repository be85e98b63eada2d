// The store's object table as clients see it: a region of shared memory holding one record
// per object and an open-addressing hash index from ObjectID to record. Only the store writes
// it (from its one event-loop thread); clients read it without locks or messages, which is
// what makes a Get of a sealed object cost a few hundred nanoseconds instead of a round trip.
//
// Each record is guarded by a sequence lock: the store makes `seq` odd while it rewrites a
// record, so a reader that saw the same even `seq` before and after its copy has a
// consistent snapshot. A reader may miss an object while the store is deleting another one
// nearby (entries shift back); that is never wrong, since every miss falls back to asking the
// store over the socket.
//
// Pins: each client owns an array of counters, one per record, in a shared file the store
// can read too. A client pins record r by incrementing its counter and then re-reading that
// the record still holds a sealed object; the store removes a record by marking it kDeleting
// and then checking that every client's counter is zero. Both sides put a full fence between
// their write and their read, so at least one of them sees the other and backs off.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

#include "ray/common/id.h"

namespace ray::store {

enum class ObjectState : uint32_t {
  kFree = 0,      // record unused
  kCreated = 1,   // space reserved, the creator is writing it
  kSealed = 2,    // immutable, readable
  kDeleting = 3,  // the store is removing it (transient)
  kFailed = 4,    // the object could not be stored; `error` says why
};

// Why an object is kFailed (also sent in replies).
enum class ObjectError : uint32_t { kNone = 0, kStoreFull = 1 };

struct alignas(64) ObjectRecord {
  std::atomic<uint32_t> seq;
  std::atomic<uint32_t> state;
  std::atomic<uint64_t> id_words[3];
  std::atomic<uint64_t> offset;
  std::atomic<uint64_t> size;
  std::atomic<uint64_t> last_access_ns;  // written by clients when they pin: the LRU's clock
  std::atomic<uint32_t> flags;
  std::atomic<uint32_t> error;
};
static_assert(sizeof(ObjectRecord) == 64);
static_assert(ObjectID::kSize == sizeof(uint64_t) * 3);

// Record flag: a delete was asked for while the object was pinned; the last release of a pin
// should tell the store.
constexpr uint32_t kDeletePending = 1;

// A consistent copy of one record.
struct ObjectSnapshot {
  uint32_t record = 0;
  ObjectState state = ObjectState::kFree;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint32_t flags = 0;
  ObjectError error = ObjectError::kNone;
};

// Nanoseconds of CLOCK_MONOTONIC: the clock records are stamped with, the same in every process.
uint64_t MonotonicNanos();

class ObjectIndex {
 public:
  // Bytes of shared memory an index for `max_objects` records needs.
  static size_t RegionSize(uint32_t max_objects);
  // Bytes of one client's pin array.
  static size_t PinRegionSize(uint32_t max_objects) { return size_t{max_objects} * 4; }

  // Store side: lays out a fresh, zero-filled region.
  static ObjectIndex Format(uint8_t* base, uint32_t max_objects);
  // Client side: attaches to a region the store formatted. Returns nullopt if it is not one
  // (wrong magic or size).
  static std::optional<ObjectIndex> Attach(uint8_t* base, size_t region_size);

  uint32_t max_objects() const { return max_objects_; }

  // Readers (any process, any thread). Finds the record holding `id`; nullopt if absent or
  // if it could not get a consistent read (the caller then asks the store).
  std::optional<ObjectSnapshot> Find(const ObjectID& id) const;
  // A consistent copy of record `r` if it still holds `id`.
  std::optional<ObjectSnapshot> Read(uint32_t r, const ObjectID& id) const;
  ObjectRecord& record(uint32_t r) const { return records_[r]; }

  // Writer (the store only, one thread).
  // Puts `id` in a free record; returns its index, or nullopt when all records are used.
  std::optional<uint32_t> Insert(const ObjectID& id, ObjectState state, uint64_t offset,
                                 uint64_t size);
  void SetState(uint32_t r, ObjectState state, ObjectError error = ObjectError::kNone);
  void SetFlags(uint32_t r, uint32_t flags);
  // Removes record `r` from the hash index and frees it. REQUIRES: r is in use.
  void Remove(uint32_t r);
  size_t num_objects() const { return max_objects_ - free_records_.size(); }
  ObjectID IdOf(uint32_t r) const;

 private:
  ObjectIndex(uint8_t* base, uint32_t max_objects);
  uint32_t Bucket(uint64_t hash) const { return static_cast<uint32_t>(hash) & bucket_mask_; }
  template <typename Write>
  void Rewrite(uint32_t r, Write write);

  ObjectRecord* records_ = nullptr;
  std::atomic<uint32_t>* buckets_ = nullptr;  // record index + 1; 0 is empty
  uint32_t max_objects_ = 0;
  uint32_t bucket_mask_ = 0;
  // Writer-only state, in the store's own memory.
  std::vector<uint32_t> free_records_;
  std::vector<uint64_t> record_hash_;
};

}  // namespace ray::store
