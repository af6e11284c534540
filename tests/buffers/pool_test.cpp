// buffer_pool over real GL buffers: placement, data integrity through the CPU views, chunk
// lifecycle, the max_chunks cap and the context budget.
#include "gpusoak/buffers/pool.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "gl_fixture.hpp"
#include "gpusoak/buffers/context.hpp"

namespace {

using namespace gpusoak::gpu;

constexpr std::uint64_t kib = 1024;
constexpr std::uint64_t mib = 1024 * kib;

using gpusoak::test::make_context;

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Block `id`'s content: word i is splitmix64(id, i); a tail shorter than a word takes its
// leading bytes. Distinct per block, so bytes landing in the wrong block are caught.
void fill_pattern(std::span<std::byte> bytes, std::uint64_t id) {
  for (std::size_t i = 0; i < bytes.size(); i += 8) {
    const std::uint64_t word = splitmix64((id << 32) ^ (i / 8));
    std::memcpy(bytes.data() + i, &word, std::min<std::size_t>(8, bytes.size() - i));
  }
}

// Returns the first mismatching byte index, or -1.
std::int64_t check_pattern(std::span<const std::byte> bytes, std::uint64_t id) {
  for (std::size_t i = 0; i < bytes.size(); i += 8) {
    const std::uint64_t word = splitmix64((id << 32) ^ (i / 8));
    const std::size_t n = std::min<std::size_t>(8, bytes.size() - i);
    if (std::memcmp(bytes.data() + i, &word, n) != 0) {
      for (std::size_t j = 0; j < n; ++j) {
        if (bytes[i + j] != reinterpret_cast<const std::byte*>(&word)[j]) {
          return static_cast<std::int64_t>(i + j);
        }
      }
    }
  }
  return -1;
}

struct live_block {
  pool_block block;
  std::uint64_t id;
};

// checks that a random alloc/free sequence over several chunks keeps blocks aligned,
// non-overlapping and byte-exact, keeps idle chunks within keep_idle_chunks, and gives chunks
// back once everything is freed
TEST(BufferPool, RandomSequenceKeepsDataAndInvariants) {
  auto ctx = make_context();
  ASSERT_NE(ctx, nullptr);
  constexpr std::uint64_t seed = 0x9001'b10c'5eedull;
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);

  pool_desc desc;
  desc.use = usage::gpu_to_cpu;  // read back on the CPU: a readable mapping
  desc.chunk_size = 1 * mib;
  desc.max_chunks = 4;
  desc.keep_idle_chunks = 1;
  desc.tag = "pool_test";
  auto pool = buffer_pool::create(*ctx, desc);
  ASSERT_TRUE(pool) << pool.error().message;
  const std::uint64_t align = pool->alignment();
  ASSERT_GE(align, 64u);
  ASSERT_EQ(align & (align - 1), 0u) << "alignment " << align << " is not a power of two";
  EXPECT_EQ(pool->stats().chunks, 0u) << "no chunk before the first allocation";

  std::vector<live_block> live;
  std::map<std::uint32_t, std::map<std::uint64_t, std::uint64_t>> placed;  // chunk -> off -> size
  std::uniform_real_distribution<double> log_size(0.0, std::log(double(256 * kib)));
  std::uint64_t next_id = 1;
  std::uint32_t max_chunks_seen = 0;
  int cap_refusals = 0;

  auto verify_all = [&] {
    for (const live_block& b : live) {
      const std::int64_t bad = check_pattern(b.block.bytes, b.id);
      ASSERT_EQ(bad, -1) << "block " << b.id << " (chunk " << b.block.chunk << ", offset " << b.block.offset
                         << ", size " << b.block.size << ") corrupt at byte " << bad;
    }
  };

  constexpr int ops = 3000;
  for (int op = 0; op < ops; ++op) {
    SCOPED_TRACE("op " + std::to_string(op));
    // Alternate growing and shrinking phases so chunks get created, emptied and released.
    const bool growing = (op / 400) % 2 == 0;
    std::bernoulli_distribution do_alloc(growing ? 0.75 : 0.3);
    if (live.empty() || do_alloc(rng)) {
      const auto size =
          std::clamp<std::uint64_t>(static_cast<std::uint64_t>(std::llround(std::exp(log_size(rng)))), 1, 256 * kib);
      auto block = pool->allocate(size);
      if (!block) {
        ASSERT_EQ(block.error().kind, error_kind::out_of_memory) << block.error().message;
        ASSERT_EQ(pool->stats().chunks, desc.max_chunks) << "refused before the cap";
        ++cap_refusals;
        continue;
      }
      const pool_block& b = *block;
      ASSERT_EQ(b.size, size);
      ASSERT_EQ(b.bytes.size(), size);
      ASSERT_EQ(b.offset % align, 0u) << "offset " << b.offset;
      ASSERT_LT(b.chunk, desc.max_chunks);
      unified_buffer& buf = pool->chunk_buffer(b.chunk);
      ASSERT_EQ(b.gl_name, buf.gl_name());
      ASSERT_EQ(b.bytes.data(), buf.cpu_view().data() + b.offset);
      ASSERT_LE(b.offset + b.size, buf.size());

      auto& in_chunk = placed[b.chunk];
      const auto next = in_chunk.lower_bound(b.offset);
      if (next != in_chunk.end()) {
        ASSERT_LE(b.offset + b.size, next->first) << "overlaps the block at " << next->first;
      }
      if (next != in_chunk.begin()) {
        const auto prev = std::prev(next);
        ASSERT_LE(prev->first + prev->second, b.offset) << "overlaps the block at " << prev->first;
      }
      in_chunk.emplace(b.offset, b.size);
      fill_pattern(b.bytes, next_id);
      live.push_back({b, next_id++});
    } else {
      std::uniform_int_distribution<std::size_t> pick(0, live.size() - 1);
      const std::size_t i = pick(rng);
      const live_block victim = live[i];
      ASSERT_EQ(check_pattern(victim.block.bytes, victim.id), -1) << "block " << victim.id;
      auto freed = pool->free(victim.block);
      ASSERT_TRUE(freed) << freed.error().message;
      placed[victim.block.chunk].erase(victim.block.offset);
      live[i] = live.back();
      live.pop_back();
    }

    const pool_stats s = pool->stats();
    max_chunks_seen = std::max(max_chunks_seen, s.chunks);
    ASSERT_LE(s.chunks, desc.max_chunks);
    ASSERT_EQ(s.totals.live_blocks, live.size());
    ASSERT_EQ(s.totals.used + s.totals.free, s.totals.capacity);
    ASSERT_EQ(s.totals.capacity, std::uint64_t{s.chunks} * desc.chunk_size);
    std::uint32_t busy_chunks = 0;
    for (const auto& [chunk, blocks] : placed) busy_chunks += blocks.empty() ? 0 : 1;
    ASSERT_LE(s.chunks - busy_chunks, desc.keep_idle_chunks) << "idle chunks not given back";

    if (op % 50 == 0) {
      verify_all();
      if (HasFatalFailure()) return;
      ASSERT_EQ(pool->validate(), "");
    }
  }
  verify_all();
  if (HasFatalFailure()) return;
  ASSERT_EQ(pool->validate(), "");
  ASSERT_GT(max_chunks_seen, 1u) << "the sequence never needed a second chunk";
  EXPECT_GT(cap_refusals, 0) << "the sequence never reached max_chunks";

  for (const live_block& b : live) {
    auto freed = pool->free(b.block);
    ASSERT_TRUE(freed) << freed.error().message;
  }
  const pool_stats s = pool->stats();
  EXPECT_EQ(s.totals.used, 0u);
  EXPECT_EQ(s.totals.live_blocks, 0u);
  EXPECT_LE(s.chunks, desc.keep_idle_chunks);
  EXPECT_GT(s.chunks_released, 0u);
  EXPECT_EQ(pool->validate(), "");
}

// checks that allocation past max_chunks full chunks is out_of_memory naming max_chunks, and
// that freeing one block makes room again
TEST(BufferPool, MaxChunksCapIsOutOfMemory) {
  auto ctx = make_context();
  ASSERT_NE(ctx, nullptr);
  pool_desc desc;
  desc.use = usage::gpu_to_cpu;
  desc.chunk_size = 64 * kib;
  desc.max_chunks = 3;
  auto pool = buffer_pool::create(*ctx, desc);
  ASSERT_TRUE(pool) << pool.error().message;

  std::vector<pool_block> blocks;
  for (std::uint32_t i = 0; i < desc.max_chunks; ++i) {
    auto b = pool->allocate(desc.chunk_size);  // one block fills a chunk
    ASSERT_TRUE(b) << b.error().message;
    blocks.push_back(*b);
  }
  EXPECT_EQ(pool->stats().chunks, desc.max_chunks);
  EXPECT_EQ(pool->stats().totals.free, 0u);

  auto refused = pool->allocate(64);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, error_kind::out_of_memory);
  EXPECT_NE(refused.error().message.find("max_chunks"), std::string::npos) << refused.error().message;
  EXPECT_EQ(pool->stats().chunks, desc.max_chunks);

  ASSERT_TRUE(pool->free(blocks[1]));
  auto again = pool->allocate(64);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->chunk, blocks[1].chunk) << "the freed chunk is the only one with room";
  EXPECT_EQ(pool->validate(), "");
}

// checks that bad requests are validation errors: empty or oversized blocks, double frees,
// unknown chunks, and descriptors with no chunk size or no chunks
TEST(BufferPool, ValidationErrors) {
  auto ctx = make_context();
  ASSERT_NE(ctx, nullptr);
  {
    pool_desc bad;
    bad.chunk_size = 0;
    auto p = buffer_pool::create(*ctx, bad);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().kind, error_kind::validation);
    EXPECT_NE(p.error().message.find("chunk_size"), std::string::npos) << p.error().message;
  }
  {
    pool_desc bad;
    bad.max_chunks = 0;
    auto p = buffer_pool::create(*ctx, bad);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().kind, error_kind::validation);
    EXPECT_NE(p.error().message.find("max_chunks"), std::string::npos) << p.error().message;
  }

  pool_desc desc;
  desc.use = usage::gpu_to_cpu;
  desc.chunk_size = 64 * kib;
  auto pool = buffer_pool::create(*ctx, desc);
  ASSERT_TRUE(pool) << pool.error().message;

  auto zero = pool->allocate(0);
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().kind, error_kind::validation);
  auto big = pool->allocate(desc.chunk_size + 1);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().kind, error_kind::validation);
  EXPECT_NE(big.error().message.find(std::to_string(desc.chunk_size + 1)), std::string::npos) << big.error().message;
  EXPECT_NE(big.error().message.find("chunk_size"), std::string::npos) << big.error().message;
  EXPECT_EQ(pool->stats().chunks, 0u) << "a refused request must not create a chunk";

  auto a = pool->allocate(100);
  auto b = pool->allocate(100);
  ASSERT_TRUE(a && b);
  pool_block inside = *b;
  inside.offset += pool->alignment() / 2;
  auto r = pool->free(inside);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, error_kind::validation);
  pool_block nowhere = *a;
  nowhere.chunk = 7;
  r = pool->free(nowhere);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, error_kind::validation);

  ASSERT_TRUE(pool->free(*a));
  r = pool->free(*a);
  ASSERT_FALSE(r) << "double free accepted";
  EXPECT_EQ(r.error().kind, error_kind::validation);
  EXPECT_EQ(pool->stats().totals.live_blocks, 1u);
  EXPECT_EQ(pool->validate(), "");
  ASSERT_TRUE(pool->free(*b));
}

// checks that the context budget refuses the chunk that would exceed it with out_of_memory, and
// that live bytes return to the baseline once the pool gives its chunks back
TEST(BufferPool, BudgetRefusesChunkAndBytesReturn) {
  context_options opts;
  opts.budget_bytes = 3 * mib;
  auto ctx = make_context(opts);
  ASSERT_NE(ctx, nullptr);
  const counters_snapshot base = ctx->counters().snapshot();
  const std::uint64_t base_budget = ctx->budget().used();

  for (std::uint32_t keep : {0u, 1u}) {
    SCOPED_TRACE("keep_idle_chunks " + std::to_string(keep));
    pool_desc desc;
    desc.use = usage::gpu_to_cpu;
    desc.chunk_size = 1 * mib;
    desc.max_chunks = 8;
    desc.keep_idle_chunks = keep;
    auto pool = buffer_pool::create(*ctx, desc);
    ASSERT_TRUE(pool) << pool.error().message;

    std::vector<pool_block> blocks;
    for (int i = 0; i < 3; ++i) {
      auto b = pool->allocate(desc.chunk_size);
      ASSERT_TRUE(b) << "chunk " << i << ": " << b.error().message;
      fill_pattern(b->bytes, static_cast<std::uint64_t>(i));
      blocks.push_back(*b);
    }
    const std::uint64_t oom_before = ctx->counters().snapshot().out_of_memory;
    auto fourth = pool->allocate(desc.chunk_size);
    ASSERT_FALSE(fourth) << "budget of 3 MiB allowed a 4th 1 MiB chunk";
    EXPECT_EQ(fourth.error().kind, error_kind::out_of_memory) << fourth.error().message;
    EXPECT_EQ(pool->stats().chunks, 3u);
    EXPECT_GT(ctx->counters().snapshot().out_of_memory, oom_before);
    EXPECT_EQ(ctx->counters().snapshot().live_bytes, base.live_bytes + 3 * mib);

    // The refusal must leave the pool whole: blocks and their data untouched.
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      EXPECT_EQ(check_pattern(blocks[i].bytes, i), -1) << "block " << i;
    }
    EXPECT_EQ(pool->validate(), "");

    for (const pool_block& b : blocks) ASSERT_TRUE(pool->free(b));
    EXPECT_EQ(pool->stats().totals.used, 0u);
    EXPECT_EQ(pool->stats().chunks, keep);
    EXPECT_EQ(pool->stats().chunks_released, 3u - keep);
    EXPECT_EQ(ctx->counters().snapshot().live_bytes, base.live_bytes + keep * mib);
    EXPECT_EQ(ctx->budget().used(), base_budget + keep * mib);

    pool = buffer_pool::create(*ctx, desc);  // drops the old pool and any idle chunk it kept
    EXPECT_EQ(ctx->counters().snapshot().live_bytes, base.live_bytes);
    EXPECT_EQ(ctx->counters().snapshot().live_buffers, base.live_buffers);
    EXPECT_EQ(ctx->budget().used(), base_budget);
  }
}

}  // namespace
