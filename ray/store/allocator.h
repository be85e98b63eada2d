#ifndef RAY_STORE_ALLOCATOR_H_
#define RAY_STORE_ALLOCATOR_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"

namespace ray::store {

// Hands out aligned byte ranges of one region [0, capacity) by offset; the region itself
// (shared memory) is elsewhere. Best-fit over a free list ordered by size, with neighbours
// coalesced on free, so fragmentation stays low for mixed sizes. Not thread-safe: the store
// calls it from its one event-loop thread.
class Allocator {
 public:
  static constexpr uint64_t kAlignment = 64;

  // Starts with the whole region free; capacity is rounded down to kAlignment.
  explicit Allocator(uint64_t capacity);

  // Returns the offset of a block of at least `size` bytes (size 0 is treated as 1), aligned to
  // kAlignment, or std::nullopt when no free block is large enough.
  std::optional<uint64_t> Allocate(uint64_t size);

  // Frees the block that Allocate returned at `offset`. REQUIRES: offset is allocated.
  // Returns false (and changes nothing) for an offset that is not an allocated block.
  bool Free(uint64_t offset);

  // Size of the managed region, a multiple of kAlignment.
  uint64_t capacity() const { return capacity_; }
  // Sum of the rounded sizes of live blocks.
  uint64_t allocated_bytes() const { return allocated_bytes_; }
  // capacity() - allocated_bytes().
  uint64_t free_bytes() const { return capacity_ - allocated_bytes_; }
  // Size of the largest free range (0 when the region is full).
  uint64_t largest_free_block() const;
  // Number of (coalesced) free ranges.
  size_t num_free_blocks() const { return free_by_offset_.size(); }
  // Number of live blocks.
  size_t num_allocations() const { return allocated_.size(); }
  // The rounded size of the block at `offset` (0 if not allocated).
  uint64_t BlockSize(uint64_t offset) const;

 private:
  void AddFree(uint64_t offset, uint64_t size);
  void RemoveFree(uint64_t offset, uint64_t size);

  uint64_t capacity_;
  uint64_t allocated_bytes_ = 0;
  // Free ranges as (size, offset), for best fit.
  absl::btree_set<std::pair<uint64_t, uint64_t>> free_by_size_;
  // The same free ranges as offset -> size, for finding neighbours.
  absl::btree_map<uint64_t, uint64_t> free_by_offset_;
  // Live blocks, offset -> rounded size.
  absl::flat_hash_map<uint64_t, uint64_t> allocated_;
};

}  // namespace ray::store

#endif  // RAY_STORE_ALLOCATOR_H_
