// free_list_allocator on the CPU alone: placement, coalescing, exhaustion, bad frees.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "gpusoak/buffers/pool.hpp"

namespace {

using gpusoak::gpu::allocator_stats;
using gpusoak::gpu::free_list_allocator;

constexpr std::uint64_t kib = 1024;
constexpr std::uint64_t mib = 1024 * kib;

std::uint64_t round_up(std::uint64_t v, std::uint64_t a) {
  return (v + a - 1) / a * a;
}

void expect_same_stats(const allocator_stats& a, const allocator_stats& b) {
  EXPECT_EQ(a.capacity, b.capacity);
  EXPECT_EQ(a.used, b.used);
  EXPECT_EQ(a.free, b.free);
  EXPECT_EQ(a.largest_free, b.largest_free);
  EXPECT_EQ(a.live_blocks, b.live_blocks);
  EXPECT_EQ(a.free_blocks, b.free_blocks);
}

struct gap {
  std::uint64_t offset;
  std::uint64_t size;
};

// The free blocks as the complement of the live ones: coalescing makes them coincide.
std::vector<gap> gaps_of(const std::map<std::uint64_t, std::uint64_t>& live, std::uint64_t capacity) {
  std::vector<gap> out;
  std::uint64_t cursor = 0;
  for (const auto& [offset, size] : live) {
    if (offset > cursor) out.push_back({cursor, offset - cursor});
    cursor = offset + size;
  }
  if (cursor < capacity) out.push_back({cursor, capacity - cursor});
  return out;
}

bool gap_fits(const gap& g, std::uint64_t aligned_size, std::uint64_t alignment) {
  const std::uint64_t start = round_up(g.offset, alignment);
  return start + aligned_size <= g.offset + g.size;
}

// checks that a long random alloc/free sequence keeps every invariant, places blocks aligned,
// never overlapping, by best fit, and refuses only requests that no free block can hold
TEST(FreeListAllocator, RandomSequenceKeepsInvariants) {
  constexpr std::uint64_t seed = 0x5eed'0001'f1ee'1157ull;
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  constexpr std::uint64_t capacity = 48 * mib;
  constexpr int ops = 20000;
  constexpr std::array<std::uint64_t, 3> alignments{64, 256, 4096};

  free_list_allocator alloc(capacity);
  std::map<std::uint64_t, std::uint64_t> shadow;  // offset -> aligned size
  std::vector<std::uint64_t> live_offsets;        // for picking a random victim
  std::uniform_real_distribution<double> log_size(0.0, std::log(double(mib)));
  std::uniform_int_distribution<std::size_t> pick_align(0, alignments.size() - 1);
  std::bernoulli_distribution do_alloc(0.55);
  int refusals = 0;
  int successes = 0;

  for (int op = 0; op < ops; ++op) {
    SCOPED_TRACE("op " + std::to_string(op));
    if (live_offsets.empty() || do_alloc(rng)) {
      const auto size =
          std::clamp<std::uint64_t>(static_cast<std::uint64_t>(std::llround(std::exp(log_size(rng)))), 1, mib);
      const std::uint64_t align = alignments[pick_align(rng)];
      const std::uint64_t aligned = round_up(size, align);
      const std::vector<gap> gaps = gaps_of(shadow, capacity);
      std::optional<std::uint64_t> best;  // smallest gap that fits
      for (const gap& g : gaps) {
        if (gap_fits(g, aligned, align) && (!best || g.size < *best)) best = g.size;
      }
      const allocator_stats before = alloc.stats();
      const auto offset = alloc.allocate(size, align);
      if (!offset) {
        ++refusals;
        ASSERT_FALSE(best) << "refused " << size << " @ " << align << " but a gap of " << *best << " fits";
        expect_same_stats(before, alloc.stats());
        continue;
      }
      ++successes;
      ASSERT_TRUE(best) << "placed " << size << " @ " << align << " where no gap fits";
      ASSERT_EQ(*offset % align, 0u) << "offset " << *offset << " align " << align;
      const auto host = std::find_if(gaps.begin(), gaps.end(), [&](const gap& g) {
        return g.offset <= *offset && *offset + aligned <= g.offset + g.size;
      });
      ASSERT_NE(host, gaps.end()) << "block [" << *offset << ", +" << aligned << ") overlaps a live block";
      EXPECT_EQ(host->size, *best) << "not best fit: used a gap of " << host->size;
      // Independent of the gap walk: the neighbours in the shadow must not reach into it.
      const auto next = shadow.lower_bound(*offset);
      if (next != shadow.end()) {
        ASSERT_LE(*offset + aligned, next->first);
      }
      if (next != shadow.begin()) {
        const auto prev = std::prev(next);
        ASSERT_LE(prev->first + prev->second, *offset);
      }
      shadow.emplace(*offset, aligned);
      live_offsets.push_back(*offset);
    } else {
      std::uniform_int_distribution<std::size_t> pick(0, live_offsets.size() - 1);
      const std::size_t i = pick(rng);
      const std::uint64_t offset = live_offsets[i];
      ASSERT_TRUE(alloc.free(offset)) << "offset " << offset;
      shadow.erase(offset);
      live_offsets[i] = live_offsets.back();
      live_offsets.pop_back();
    }

    const allocator_stats s = alloc.stats();
    ASSERT_EQ(s.live_blocks, shadow.size());
    ASSERT_EQ(s.used + s.free, capacity);
    if (op % 97 == 0) {
      ASSERT_EQ(alloc.validate(), "");
      ASSERT_EQ(alloc.live_blocks(), shadow);
      const std::uint64_t used = std::accumulate(shadow.begin(), shadow.end(), std::uint64_t{0},
                                                 [](std::uint64_t sum, const auto& kv) { return sum + kv.second; });
      ASSERT_EQ(s.used, used);
      const std::vector<gap> gaps = gaps_of(shadow, capacity);
      ASSERT_EQ(s.free_blocks, gaps.size());
      std::uint64_t largest = 0;
      for (const gap& g : gaps) largest = std::max(largest, g.size);
      ASSERT_EQ(s.largest_free, largest);
    }
  }
  ASSERT_EQ(alloc.validate(), "");
  ASSERT_EQ(alloc.live_blocks(), shadow);
  // The sequence must have exercised both paths to mean anything.
  EXPECT_GT(refusals, 0);
  EXPECT_GT(successes, ops / 3);
}

// checks that freeing every block in random order coalesces back into one free block covering
// the whole capacity
TEST(FreeListAllocator, FreeAllInRandomOrderCoalescesToOneBlock) {
  constexpr std::uint64_t seed = 0xc0a1'e5ceull;
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  constexpr std::uint64_t capacity = 8 * mib;
  constexpr std::array<std::uint64_t, 3> alignments{64, 256, 4096};
  free_list_allocator alloc(capacity);
  std::vector<std::uint64_t> offsets;
  std::uniform_int_distribution<std::uint64_t> size(1, 64 * kib);
  std::uniform_int_distribution<std::size_t> pick_align(0, alignments.size() - 1);
  // Fill until the allocator refuses several times in a row, so the space ends up crowded.
  for (int refusals = 0; refusals < 8;) {
    if (auto o = alloc.allocate(size(rng), alignments[pick_align(rng)])) {
      offsets.push_back(*o);
    } else {
      ++refusals;
    }
  }
  ASSERT_GT(offsets.size(), 100u);
  ASSERT_EQ(alloc.validate(), "");

  std::shuffle(offsets.begin(), offsets.end(), rng);
  for (std::size_t i = 0; i < offsets.size(); ++i) {
    ASSERT_TRUE(alloc.free(offsets[i])) << "offset " << offsets[i];
    if (i % 31 == 0) {
      ASSERT_EQ(alloc.validate(), "") << "after " << i << " frees";
    }
  }
  const allocator_stats s = alloc.stats();
  EXPECT_EQ(alloc.validate(), "");
  EXPECT_EQ(s.used, 0u);
  EXPECT_EQ(s.free, capacity);
  EXPECT_EQ(s.free_blocks, 1u);
  EXPECT_EQ(s.largest_free, capacity);
  EXPECT_EQ(s.live_blocks, 0u);
  EXPECT_EQ(s.fragmentation(), 0.0);
}

// checks that a request no free block can hold returns nullopt and leaves the state untouched,
// whether the space is full, fragmented, or only misaligned
TEST(FreeListAllocator, ExhaustionReturnsNulloptAndChangesNothing) {
  {
    free_list_allocator alloc(4 * kib);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(alloc.allocate(kib, 64));
    const allocator_stats before = alloc.stats();
    EXPECT_EQ(before.free, 0u);
    EXPECT_FALSE(alloc.allocate(1, 64));
    expect_same_stats(before, alloc.stats());
    EXPECT_EQ(alloc.validate(), "");
  }
  {
    // Fragmented: half the space is free, but in pieces smaller than the request.
    free_list_allocator alloc(8 * kib);
    std::vector<std::uint64_t> offsets;
    for (int i = 0; i < 8; ++i) offsets.push_back(*alloc.allocate(kib, 64));
    for (int i = 0; i < 8; i += 2) ASSERT_TRUE(alloc.free(offsets[i]));
    const allocator_stats before = alloc.stats();
    EXPECT_EQ(before.free, 4 * kib);
    EXPECT_FALSE(alloc.allocate(kib + 1, 64));
    expect_same_stats(before, alloc.stats());
    EXPECT_EQ(alloc.validate(), "");
  }
  {
    // Misaligned: a free block of exactly 4 KiB that does not start on a 4 KiB boundary.
    free_list_allocator alloc(8 * kib);
    ASSERT_EQ(alloc.allocate(64, 64), 0u);
    const auto middle = alloc.allocate(4 * kib, 64);
    ASSERT_EQ(middle, 64u);
    ASSERT_TRUE(alloc.allocate(8 * kib - 4 * kib - 64, 64));
    ASSERT_TRUE(alloc.free(*middle));
    const allocator_stats before = alloc.stats();
    ASSERT_EQ(before.largest_free, 4 * kib);
    EXPECT_FALSE(alloc.allocate(4 * kib, 4096));
    expect_same_stats(before, alloc.stats());
    EXPECT_EQ(alloc.validate(), "");
    EXPECT_EQ(alloc.allocate(4 * kib, 64), 64u);  // the same size fits at a smaller alignment
  }
  {
    free_list_allocator alloc(4 * kib);
    EXPECT_FALSE(alloc.allocate(0, 64));
    EXPECT_FALSE(alloc.allocate(4 * kib + 1, 64));
    EXPECT_FALSE(alloc.allocate(~std::uint64_t{0}, 4096));  // rounding must not wrap around
    EXPECT_EQ(alloc.stats().free, 4 * kib);
    EXPECT_EQ(alloc.validate(), "");
  }
}

// checks that freeing an offset that is not the start of a live block (never allocated, inside
// a block, or already freed) returns false and changes nothing
TEST(FreeListAllocator, BadOrDoubleFreeReturnsFalse) {
  free_list_allocator alloc(16 * kib);
  const auto a = alloc.allocate(kib, 256);
  const auto b = alloc.allocate(kib, 256);
  ASSERT_TRUE(a && b);
  const allocator_stats before = alloc.stats();
  EXPECT_FALSE(alloc.free(*b + 64));   // inside a live block
  EXPECT_FALSE(alloc.free(8 * kib));   // inside the free tail
  EXPECT_FALSE(alloc.free(64 * kib));  // past capacity
  expect_same_stats(before, alloc.stats());
  EXPECT_EQ(alloc.validate(), "");

  ASSERT_TRUE(alloc.free(*a));
  const allocator_stats after_one = alloc.stats();
  EXPECT_FALSE(alloc.free(*a));  // double free
  expect_same_stats(after_one, alloc.stats());
  EXPECT_EQ(alloc.validate(), "");
}

// checks the fragmentation figure on a checkerboard of live and freed blocks against the value
// computed from the layout, and that it is 0 with nothing or everything free
TEST(FreeListAllocator, FragmentationOfCheckerboard) {
  // Blocks of different sizes, fill the capacity exactly so no free tail joins the count.
  const std::vector<std::uint64_t> sizes{4 * kib, 1 * kib,  8 * kib, 2 * kib, 3 * kib,
                                         1 * kib, 16 * kib, 512,     2 * kib, 1 * kib};
  const std::uint64_t capacity = std::accumulate(sizes.begin(), sizes.end(), std::uint64_t{0});
  free_list_allocator alloc(capacity);
  std::vector<std::uint64_t> offsets;
  for (std::uint64_t size : sizes) {
    const auto o = alloc.allocate(size, 64);
    ASSERT_TRUE(o) << "size " << size;
    offsets.push_back(*o);
  }
  EXPECT_EQ(alloc.stats().free, 0u);
  EXPECT_EQ(alloc.stats().fragmentation(), 0.0);  // nothing free: defined as 0

  std::uint64_t freed = 0;
  std::uint64_t largest = 0;
  std::uint64_t count = 0;
  for (std::size_t i = 0; i < sizes.size(); i += 2) {  // every other block: none touch
    ASSERT_TRUE(alloc.free(offsets[i]));
    freed += sizes[i];
    largest = std::max(largest, sizes[i]);
    ++count;
  }
  const allocator_stats s = alloc.stats();
  EXPECT_EQ(alloc.validate(), "");
  EXPECT_EQ(s.free, freed);
  EXPECT_EQ(s.free_blocks, count);
  EXPECT_EQ(s.largest_free, largest);
  const double expected = 1.0 - static_cast<double>(largest) / static_cast<double>(freed);
  EXPECT_DOUBLE_EQ(s.fragmentation(), expected);
  EXPECT_GT(s.fragmentation(), 0.0);
  EXPECT_LT(s.fragmentation(), 1.0);

  for (std::size_t i = 1; i < sizes.size(); i += 2) ASSERT_TRUE(alloc.free(offsets[i]));
  EXPECT_EQ(alloc.stats().fragmentation(), 0.0);
  EXPECT_EQ(alloc.stats().free_blocks, 1u);
}

// checks what the release plan's fragmentation churn does to a correct allocator (docs/gate.md,
// "Pool fragmentation"): blocks of 16 B to 4 MiB, log-uniform, 55% allocations, up to 512 live,
// in one 256 MiB chunk. Free bytes scatter (the ratio passes 0.5, where the release plan's old bound
// failed on an H100), yet every refusal is one no free block could hold, and refusals are rare
TEST(FreeListAllocator, RandomChurnScattersFreeBytesWithoutDefect) {
  free_list_allocator alloc(256 * mib);
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> log_size(std::log(16.0), std::log(double(4 * mib)));
  std::vector<std::uint64_t> live;
  std::uint64_t allocations = 0, refusals = 0;
  double max_ratio = 0;
  for (int op = 0; op < 640'000; ++op) {
    if (live.empty() || (live.size() < 512 && std::bernoulli_distribution(0.55)(rng))) {
      const auto size = static_cast<std::uint64_t>(std::exp(log_size(rng)));
      ++allocations;
      const auto before = alloc.stats();
      if (auto offset = alloc.allocate(size, 256)) {
        live.push_back(*offset);
      } else {
        ++refusals;
        EXPECT_LT(before.largest_free, round_up(size, 256)) << "refused " << size << " with a block that fits";
      }
    } else {
      const auto i = std::uniform_int_distribution<std::size_t>(0, live.size() - 1)(rng);
      ASSERT_TRUE(alloc.free(live[i]));
      live[i] = live.back();
      live.pop_back();
    }
    if (op % 64 == 63) max_ratio = std::max(max_ratio, alloc.stats().fragmentation());
  }
  ASSERT_EQ(alloc.validate(), "");
  std::printf("max fragmentation ratio %.3f; %llu of %llu allocations refused, each with no block that fits\n",
              max_ratio, static_cast<unsigned long long>(refusals), static_cast<unsigned long long>(allocations));
  EXPECT_GT(max_ratio, 0.5) << "random churn keeps the free bytes in one block?";
  EXPECT_LT(refusals * 1000, allocations) << refusals << " refusals in " << allocations << " allocations";
}

}  // namespace
