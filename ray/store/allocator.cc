#include "ray/store/allocator.h"

#include <iterator>

namespace ray::store {

Allocator::Allocator(uint64_t capacity) : capacity_(capacity / kAlignment * kAlignment) {
  if (capacity_ > 0) AddFree(0, capacity_);
}

std::optional<uint64_t> Allocator::Allocate(uint64_t size) {
  if (size == 0) size = 1;
  if (size > capacity_) return std::nullopt;  // Also keeps the rounding below from overflowing.
  size = (size + kAlignment - 1) / kAlignment * kAlignment;
  // Best fit: the smallest free range of at least `size`, lowest offset among equals.
  auto it = free_by_size_.lower_bound({size, 0});
  if (it == free_by_size_.end()) return std::nullopt;
  const auto [free_size, offset] = *it;
  RemoveFree(offset, free_size);
  if (free_size > size) AddFree(offset + size, free_size - size);
  allocated_.emplace(offset, size);
  allocated_bytes_ += size;
  return offset;
}

bool Allocator::Free(uint64_t offset) {
  auto block = allocated_.find(offset);
  if (block == allocated_.end()) return false;
  uint64_t start = offset;
  uint64_t size = block->second;
  allocated_bytes_ -= size;
  allocated_.erase(block);
  // Merge with the free range that follows, then with the one that precedes.
  auto next = free_by_offset_.find(offset + size);
  if (next != free_by_offset_.end()) {
    size += next->second;
    RemoveFree(next->first, next->second);
  }
  auto after = free_by_offset_.lower_bound(offset);
  if (after != free_by_offset_.begin()) {
    auto prev = std::prev(after);
    if (prev->first + prev->second == offset) {
      start = prev->first;
      size += prev->second;
      RemoveFree(prev->first, prev->second);
    }
  }
  AddFree(start, size);
  return true;
}

uint64_t Allocator::largest_free_block() const {
  return free_by_size_.empty() ? 0 : std::prev(free_by_size_.end())->first;
}

uint64_t Allocator::BlockSize(uint64_t offset) const {
  auto it = allocated_.find(offset);
  return it == allocated_.end() ? 0 : it->second;
}

void Allocator::AddFree(uint64_t offset, uint64_t size) {
  free_by_size_.emplace(size, offset);
  free_by_offset_.emplace(offset, size);
}

void Allocator::RemoveFree(uint64_t offset, uint64_t size) {
  free_by_size_.erase({size, offset});
  free_by_offset_.erase(offset);
}

}  // namespace ray::store
