#include "ray/store/allocator.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"

namespace ray::store {
namespace {

constexpr uint64_t kA = Allocator::kAlignment;

uint64_t RoundUp(uint64_t size) { return (std::max<uint64_t>(size, 1) + kA - 1) / kA * kA; }

// Every observable counter of an allocator, to check that an operation changed nothing.
auto Stats(const Allocator& a) {
  return std::make_tuple(a.capacity(), a.allocated_bytes(), a.free_bytes(), a.largest_free_block(),
                         a.num_free_blocks(), a.num_allocations());
}

void ExpectFullyFree(const Allocator& a) {
  EXPECT_EQ(a.allocated_bytes(), 0u);
  EXPECT_EQ(a.free_bytes(), a.capacity());
  EXPECT_EQ(a.num_allocations(), 0u);
  EXPECT_EQ(a.num_free_blocks(), 1u);
  EXPECT_EQ(a.largest_free_block(), a.capacity());
}

// Allocates blocks of the given sizes into a fresh allocator whose capacity is exactly their
// rounded total, so they are laid out back to back from offset 0 and fill it.
std::vector<uint64_t> FillExactly(Allocator& a, const std::vector<uint64_t>& sizes) {
  std::vector<uint64_t> offsets;
  uint64_t expected = 0;
  for (uint64_t size : sizes) {
    std::optional<uint64_t> offset = a.Allocate(size);
    EXPECT_EQ(offset, expected);
    if (!offset) break;
    offsets.push_back(*offset);
    expected += RoundUp(size);
  }
  EXPECT_EQ(a.free_bytes(), 0u);
  EXPECT_EQ(a.Allocate(1), std::nullopt);
  return offsets;
}

uint64_t Total(const std::vector<uint64_t>& sizes) {
  uint64_t total = 0;
  for (uint64_t size : sizes) total += RoundUp(size);
  return total;
}

TEST(AllocatorTest, FreshAllocatorIsOneFreeBlock) {
  Allocator a(1 << 20);
  EXPECT_EQ(a.capacity(), 1u << 20);
  ExpectFullyFree(a);
}

TEST(AllocatorTest, OffsetsAreAlignedForOddSizes) {
  Allocator a(64 << 20);
  std::mt19937_64 rng(1);
  std::vector<uint64_t> sizes = {0, 1, 3, 7, 63, 64, 65, 127, 128, 129, 1000, 4095, 4097, 99999};
  for (int i = 0; i < 500; ++i) sizes.push_back(rng() % 20000 | 1);  // Odd sizes.
  uint64_t expected_allocated = 0;
  for (uint64_t size : sizes) {
    std::optional<uint64_t> offset = a.Allocate(size);
    ASSERT_TRUE(offset.has_value()) << size;
    EXPECT_EQ(*offset % kA, 0u) << size;
    EXPECT_EQ(a.BlockSize(*offset), RoundUp(size)) << size;
    EXPECT_GE(a.BlockSize(*offset), std::max<uint64_t>(size, 1));
    EXPECT_LE(*offset + a.BlockSize(*offset), a.capacity());
    expected_allocated += RoundUp(size);
  }
  EXPECT_EQ(a.allocated_bytes(), expected_allocated);
  EXPECT_EQ(a.num_allocations(), sizes.size());
}

TEST(AllocatorTest, SizeZeroTakesOneAlignedBlock) {
  Allocator a(4 * kA);
  std::optional<uint64_t> first = a.Allocate(0);
  std::optional<uint64_t> second = a.Allocate(0);
  ASSERT_TRUE(first && second);
  EXPECT_NE(*first, *second);
  EXPECT_EQ(a.BlockSize(*first), kA);
  EXPECT_EQ(a.allocated_bytes(), 2 * kA);
}

TEST(AllocatorTest, ExactFillThenNullopt) {
  constexpr int kBlocks = 100;
  Allocator a(kBlocks * kA);
  std::vector<uint64_t> offsets;
  for (int i = 0; i < kBlocks; ++i) {
    std::optional<uint64_t> offset = a.Allocate(1 + i % kA);  // 1..64 bytes: one block each.
    ASSERT_TRUE(offset.has_value()) << i;
    offsets.push_back(*offset);
  }
  std::sort(offsets.begin(), offsets.end());
  for (int i = 0; i < kBlocks; ++i) EXPECT_EQ(offsets[i], i * kA);
  EXPECT_EQ(a.allocated_bytes(), a.capacity());
  EXPECT_EQ(a.free_bytes(), 0u);
  EXPECT_EQ(a.largest_free_block(), 0u);
  EXPECT_EQ(a.num_free_blocks(), 0u);
  EXPECT_EQ(a.Allocate(1), std::nullopt);
  EXPECT_EQ(a.Allocate(0), std::nullopt);
  EXPECT_EQ(a.num_allocations(), static_cast<size_t>(kBlocks));
}

TEST(AllocatorTest, TooLargeRequestsFail) {
  Allocator a(10 * kA);
  const auto before = Stats(a);
  EXPECT_EQ(a.Allocate(10 * kA + 1), std::nullopt);
  EXPECT_EQ(a.Allocate(std::numeric_limits<uint64_t>::max()), std::nullopt);
  EXPECT_EQ(a.Allocate(std::numeric_limits<uint64_t>::max() - kA + 2), std::nullopt);
  EXPECT_EQ(Stats(a), before);
  EXPECT_EQ(a.Allocate(10 * kA), 0u);
}

// Frees blocks laid out back to back in the given order and checks after every free that the
// free ranges are exactly the maximal runs of freed blocks.
void FreeInOrderAndCheckCoalescing(const std::vector<uint64_t>& sizes,
                                   const std::vector<size_t>& order) {
  Allocator a(Total(sizes));
  std::vector<uint64_t> offsets = FillExactly(a, sizes);
  ASSERT_EQ(offsets.size(), sizes.size());
  std::vector<bool> freed(sizes.size(), false);
  uint64_t freed_bytes = 0;
  for (size_t i : order) {
    ASSERT_TRUE(a.Free(offsets[i])) << i;
    freed[i] = true;
    freed_bytes += RoundUp(sizes[i]);
    size_t runs = 0;
    uint64_t run = 0, largest = 0;
    for (size_t j = 0; j < sizes.size(); ++j) {
      if (!freed[j]) {
        run = 0;
        continue;
      }
      if (run == 0) ++runs;
      run += RoundUp(sizes[j]);
      largest = std::max(largest, run);
    }
    ASSERT_EQ(a.num_free_blocks(), runs) << "after freeing " << i;
    ASSERT_EQ(a.largest_free_block(), largest) << "after freeing " << i;
    ASSERT_EQ(a.free_bytes(), freed_bytes);
  }
  ExpectFullyFree(a);
  // The whole region can be handed out again in one piece.
  EXPECT_EQ(a.Allocate(a.capacity()), 0u);
}

std::vector<uint64_t> MixedSizes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> sizes(n);
  for (uint64_t& size : sizes) size = 1 + rng() % 5000;
  return sizes;
}

TEST(AllocatorTest, CoalescesWhenFreedForwards) {
  std::vector<uint64_t> sizes = MixedSizes(200, 2);
  std::vector<size_t> order(sizes.size());
  std::iota(order.begin(), order.end(), 0);
  FreeInOrderAndCheckCoalescing(sizes, order);
}

TEST(AllocatorTest, CoalescesWhenFreedBackwards) {
  std::vector<uint64_t> sizes = MixedSizes(200, 3);
  std::vector<size_t> order(sizes.size());
  std::iota(order.rbegin(), order.rend(), 0);
  FreeInOrderAndCheckCoalescing(sizes, order);
}

TEST(AllocatorTest, CoalescesWhenFreedInRandomOrder) {
  for (uint64_t seed = 0; seed < 5; ++seed) {
    std::vector<uint64_t> sizes = MixedSizes(300, 10 + seed);
    std::vector<size_t> order(sizes.size());
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937_64(seed));
    FreeInOrderAndCheckCoalescing(sizes, order);
  }
}

TEST(AllocatorTest, BestFitPicksSmallestHoleThatFits) {
  // Layout in blocks: [hole 3][live 1][hole 1][live 1][hole 2][live 1].
  Allocator a(9 * kA);
  std::vector<uint64_t> offsets = FillExactly(a, {3 * kA, kA, kA, kA, 2 * kA, kA});
  ASSERT_EQ(offsets.size(), 6u);
  ASSERT_TRUE(a.Free(offsets[0]));
  ASSERT_TRUE(a.Free(offsets[2]));
  ASSERT_TRUE(a.Free(offsets[4]));
  ASSERT_EQ(a.num_free_blocks(), 3u);
  ASSERT_EQ(a.largest_free_block(), 3 * kA);

  // Two blocks' worth fits the 3-block hole at 0 and the 2-block hole at 6*kA: best fit is the
  // latter, although it comes last by offset.
  EXPECT_EQ(a.Allocate(kA + 1), 6 * kA);
  EXPECT_EQ(a.BlockSize(6 * kA), 2 * kA);
  EXPECT_EQ(a.num_free_blocks(), 2u);
  // One block goes to the 1-block hole, not to the front of the 3-block one.
  EXPECT_EQ(a.Allocate(kA), 4 * kA);
  EXPECT_EQ(a.num_free_blocks(), 1u);
  EXPECT_EQ(a.Allocate(2 * kA), 0u);
  EXPECT_EQ(a.largest_free_block(), kA);
  EXPECT_EQ(a.Allocate(kA + 1), std::nullopt);
  EXPECT_EQ(a.Allocate(kA), 2 * kA);
  EXPECT_EQ(a.free_bytes(), 0u);
}

TEST(AllocatorTest, BestFitTakesLowestOffsetAmongEqualHoles) {
  // Layout in blocks: [live 1][hole 2][live 1][hole 2][live 1][hole 2][live 1].
  Allocator a(10 * kA);
  std::vector<uint64_t> offsets = FillExactly(a, {kA, 2 * kA, kA, 2 * kA, kA, 2 * kA, kA});
  ASSERT_EQ(offsets.size(), 7u);
  ASSERT_TRUE(a.Free(offsets[5]));
  ASSERT_TRUE(a.Free(offsets[1]));
  ASSERT_TRUE(a.Free(offsets[3]));
  EXPECT_EQ(a.Allocate(2 * kA), 1 * kA);
  EXPECT_EQ(a.Allocate(kA), 4 * kA);  // Ties on size again: the lowest offset wins.
  EXPECT_EQ(a.Allocate(kA), 5 * kA);  // Now the 1-block remainder is the best fit.
  EXPECT_EQ(a.Allocate(2 * kA), 7 * kA);
  EXPECT_EQ(a.free_bytes(), 0u);
}

TEST(AllocatorTest, FragmentationLimitsLargestAllocation) {
  std::vector<uint64_t> sizes = MixedSizes(1000, 4);
  for (size_t i = 0; i < sizes.size(); i += 7) sizes[i] *= 10;  // Some much larger blocks.
  Allocator a(Total(sizes));
  std::vector<uint64_t> offsets = FillExactly(a, sizes);
  ASSERT_EQ(offsets.size(), sizes.size());

  uint64_t largest_hole = 0, freed = 0;
  for (size_t i = 0; i < sizes.size(); i += 2) {
    ASSERT_TRUE(a.Free(offsets[i]));
    largest_hole = std::max(largest_hole, RoundUp(sizes[i]));
    freed += RoundUp(sizes[i]);
  }
  // Every hole is bounded by live blocks (the last block, index 999, stays live), so nothing
  // coalesces.
  EXPECT_EQ(a.num_free_blocks(), sizes.size() / 2);
  EXPECT_EQ(a.largest_free_block(), largest_hole);
  EXPECT_EQ(a.free_bytes(), freed);
  EXPECT_EQ(a.num_allocations(), sizes.size() / 2);

  const uint64_t too_big = largest_hole + 1;
  ASSERT_GE(a.free_bytes(), too_big);
  const auto before = Stats(a);
  EXPECT_EQ(a.Allocate(too_big), std::nullopt);
  EXPECT_EQ(Stats(a), before);
  // The largest hole itself can still be handed out.
  std::optional<uint64_t> fits = a.Allocate(largest_hole);
  ASSERT_TRUE(fits.has_value());
  EXPECT_EQ(a.BlockSize(*fits), largest_hole);
  ASSERT_TRUE(a.Free(*fits));

  for (size_t i = 1; i < sizes.size(); i += 2) ASSERT_TRUE(a.Free(offsets[i]));
  ExpectFullyFree(a);
}

TEST(AllocatorTest, DoubleFreeAndUnknownOffsetChangeNothing) {
  Allocator a(16 * kA);
  std::optional<uint64_t> x = a.Allocate(2 * kA);
  std::optional<uint64_t> y = a.Allocate(3 * kA);
  std::optional<uint64_t> z = a.Allocate(kA);
  ASSERT_TRUE(x && y && z);
  ASSERT_TRUE(a.Free(*x));

  const auto before = Stats(a);
  EXPECT_FALSE(a.Free(*x));            // Double free.
  EXPECT_FALSE(a.Free(*y + kA));       // Inside a live block.
  EXPECT_FALSE(a.Free(*y + 1));        // Unaligned.
  EXPECT_FALSE(a.Free(*z + kA));       // Start of a free range.
  EXPECT_FALSE(a.Free(a.capacity()));  // Past the end.
  EXPECT_FALSE(a.Free(std::numeric_limits<uint64_t>::max()));
  EXPECT_EQ(Stats(a), before);
  EXPECT_EQ(a.BlockSize(*x), 0u);
  EXPECT_EQ(a.BlockSize(*y), 3 * kA);
  EXPECT_EQ(a.BlockSize(*y + kA), 0u);

  EXPECT_TRUE(a.Free(*y));
  EXPECT_FALSE(a.Free(*y));
  EXPECT_TRUE(a.Free(*z));
  EXPECT_FALSE(a.Free(*z));
  ExpectFullyFree(a);
}

TEST(AllocatorTest, CapacityIsRoundedDownToAlignment) {
  Allocator a(1000);  // 15 blocks of 64 = 960.
  EXPECT_EQ(a.capacity(), 960u);
  ExpectFullyFree(a);
  EXPECT_EQ(a.Allocate(961), std::nullopt);
  EXPECT_EQ(a.Allocate(900), 0u);
  EXPECT_EQ(a.BlockSize(0), 960u);
  EXPECT_EQ(a.Allocate(1), std::nullopt);
  EXPECT_TRUE(a.Free(0));
  ExpectFullyFree(a);

  Allocator tiny(kA - 1);
  EXPECT_EQ(tiny.capacity(), 0u);
  EXPECT_EQ(tiny.free_bytes(), 0u);
  EXPECT_EQ(tiny.num_free_blocks(), 0u);
  EXPECT_EQ(tiny.largest_free_block(), 0u);
  EXPECT_EQ(tiny.Allocate(0), std::nullopt);
  EXPECT_FALSE(tiny.Free(0));

  Allocator exact(3 * kA + kA / 2);
  EXPECT_EQ(exact.capacity(), 3 * kA);
}

// Random allocations and frees checked after every operation against a model that only keeps
// the live blocks: free ranges are the gaps between them, and best fit is computed from those.
TEST(AllocatorTest, RandomizedStressMatchesReferenceModel) {
  constexpr uint64_t kCapacity = 1 << 20;
  constexpr int kOps = 100000;
  Allocator a(kCapacity + 17);
  ASSERT_EQ(a.capacity(), kCapacity);
  std::mt19937_64 rng(42);
  std::map<uint64_t, uint64_t> live;  // offset -> rounded size.
  std::vector<uint64_t> live_offsets;
  uint64_t live_bytes = 0;
  int failed_allocations = 0;

  for (int op = 0; op < kOps; ++op) {
    // Gaps between live blocks, as (offset, size).
    std::vector<std::pair<uint64_t, uint64_t>> gaps;
    uint64_t end = 0;
    for (const auto& [offset, size] : live) {
      if (offset > end) gaps.emplace_back(end, offset - end);
      end = offset + size;
    }
    if (end < kCapacity) gaps.emplace_back(end, kCapacity - end);
    uint64_t largest = 0;
    for (const auto& gap : gaps) largest = std::max(largest, gap.second);
    ASSERT_EQ(a.num_free_blocks(), gaps.size()) << "op " << op;
    ASSERT_EQ(a.largest_free_block(), largest) << "op " << op;

    // Phases alternate between a half-full and a nearly full target: lean towards allocating
    // below the target and towards freeing above it.
    const uint64_t target = (op / 5000) % 2 == 0 ? kCapacity / 2 : kCapacity / 100 * 98;
    const bool allocate = live.empty() || rng() % 100 < (live_bytes < target ? 70 : 30);
    if (allocate) {
      // Mostly small sizes, some large ones, occasionally zero or unaligned edge sizes.
      uint64_t size;
      switch (rng() % 8) {
        case 0:
          size = rng() % 65536;
          break;
        case 1:
          size = rng() % 3;
          break;
        default:
          size = 1 + rng() % 4096;
      }
      const uint64_t rounded = RoundUp(size);
      std::optional<std::pair<uint64_t, uint64_t>> best;  // (size, offset) of the best-fit gap.
      for (const auto& [offset, gap] : gaps) {
        if (gap >= rounded && (!best || std::make_pair(gap, offset) < *best)) best = {gap, offset};
      }
      std::optional<uint64_t> got = a.Allocate(size);
      if (!best) {
        ASSERT_EQ(got, std::nullopt) << "op " << op;
        ++failed_allocations;
      } else {
        ASSERT_EQ(got, best->second) << "op " << op << " size " << size;
        live.emplace(*got, rounded);
        live_offsets.push_back(*got);
        live_bytes += rounded;
      }
    } else {
      const size_t pick = rng() % live_offsets.size();
      const uint64_t offset = live_offsets[pick];
      if (rng() % 16 == 0) {
        // Freeing something that is not a live block must be refused.
        const uint64_t bogus = offset + kA * (1 + rng() % 4);
        if (!live.count(bogus)) {
          ASSERT_FALSE(a.Free(bogus)) << "op " << op;
        }
      }
      ASSERT_EQ(a.BlockSize(offset), live.at(offset));
      ASSERT_TRUE(a.Free(offset)) << "op " << op;
      ASSERT_FALSE(a.Free(offset)) << "op " << op;
      ASSERT_EQ(a.BlockSize(offset), 0u);
      live_bytes -= live.at(offset);
      live.erase(offset);
      live_offsets[pick] = live_offsets.back();
      live_offsets.pop_back();
    }

    ASSERT_EQ(a.allocated_bytes(), live_bytes) << "op " << op;
    ASSERT_EQ(a.free_bytes(), kCapacity - live_bytes) << "op " << op;
    ASSERT_EQ(a.num_allocations(), live.size()) << "op " << op;
    uint64_t previous_end = 0;
    for (const auto& [offset, size] : live) {
      ASSERT_EQ(offset % kA, 0u);
      ASSERT_GE(offset, previous_end) << "overlapping blocks at op " << op;
      ASSERT_LE(offset + size, kCapacity) << "block outside capacity at op " << op;
      previous_end = offset + size;
    }
  }
  // The nearly full phases must have made allocations fail.
  EXPECT_GT(failed_allocations, 1000);
  for (uint64_t offset : live_offsets) ASSERT_TRUE(a.Free(offset));
  ExpectFullyFree(a);
}

}  // namespace
}  // namespace ray::store
