// Data written on one side is read exactly on the other, for every strategy and fallback.
#include "gpusoak/buffers/unified_buffer.hpp"

#include <glad/gl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "gl_fixture.hpp"
#include "gpu_checks.hpp"

namespace gpusoak::gpu {
namespace {

struct range_case {
  std::uint64_t size;    // buffer size
  std::uint64_t offset;  // first byte of the range under test
  std::uint64_t length;  // bytes in the range
};

// 1 byte to 64 MiB, odd offsets and lengths that straddle words and cache lines.
const range_case ranges[] = {
    {1, 0, 1},
    {3, 1, 2},
    {4096 + 5, 3, 4096},
    {(1 << 20) + 7, 61, (1 << 20) - 100},
    {64ull << 20, 4097, (64ull << 20) - 8193},
};

std::string skip_reason(const context& ctx, strategy s) {
  if (is_supported(ctx.caps(), s)) return "";
  return std::string(to_string(s)) + " is not supported on " + ctx.caps().renderer +
         (s == strategy::pinned_host ? " (needs GL_AMD_pinned_memory)" : "");
}

class EveryStrategy : public ::testing::TestWithParam<strategy> {
 protected:
  void SetUp() override {
    ctx_ = test::make_context({.budget_bytes = 1ull << 30});
    ASSERT_TRUE(ctx_);
    if (auto reason = skip_reason(*ctx_, GetParam()); !reason.empty()) GTEST_SKIP() << reason;
    checks_.emplace(*ctx_);
  }
  unified_buffer make(std::uint64_t size, usage use) {
    auto made = unified_buffer::create(
        *ctx_, {.size = size, .use = use, .preferred = GetParam(), .allow_fallback = false, .tag = "test"});
    EXPECT_TRUE(made) << made.error().message;
    if (!made) return {};
    EXPECT_EQ(made->strategy(), GetParam());
    return std::move(*made);
  }
  std::unique_ptr<context> ctx_;
  std::optional<test::gpu_checks> checks_;
};

// checks that random bytes the CPU writes into cpu_view() are what a shader reads (GPU checksum)
TEST_P(EveryStrategy, CpuWritesGpuReadsExactly) {
  std::mt19937_64 rng(std::random_device{}());
  const auto seed = rng();
  SCOPED_TRACE("seed " + std::to_string(seed));
  rng.seed(seed);
  for (const auto& r : ranges) {
    SCOPED_TRACE("size " + std::to_string(r.size) + " offset " + std::to_string(r.offset));
    auto buffer = make(r.size, usage::stream_to_gpu);
    ASSERT_EQ(buffer.cpu_view().size(), r.size);
    auto view = buffer.cpu_view().subspan(r.offset, r.length);
    for (std::size_t i = 0; i < view.size(); i += 8) {
      const auto word = rng();
      std::memcpy(view.data() + i, &word, std::min<std::size_t>(8, view.size() - i));
    }
    const auto expected = test::cpu_checksum(view);
    ASSERT_TRUE(buffer.make_visible_to_gpu(r.offset, r.length));
    EXPECT_EQ(checks_->checksum(buffer.gl_name(), r.offset, r.length), expected);
    // A second write to the same range must be seen too (no stale cache, no lost flush).
    view[view.size() / 2] = static_cast<std::byte>(~static_cast<unsigned>(view[view.size() / 2]));
    ASSERT_TRUE(buffer.make_visible_to_gpu(r.offset, r.length));
    EXPECT_EQ(checks_->checksum(buffer.gl_name(), r.offset, r.length), test::cpu_checksum(view));
  }
}

// checks that a pattern a shader writes is what the CPU reads, and that bytes around the range
// keep the CPU's poison (the GPU wrote exactly the range)
TEST_P(EveryStrategy, GpuWritesCpuReadsExactly) {
  const auto seed = static_cast<std::uint32_t>(std::random_device{}());
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (const auto& r : ranges) {
    SCOPED_TRACE("size " + std::to_string(r.size) + " offset " + std::to_string(r.offset));
    auto buffer = make(r.size, usage::gpu_to_cpu);
    std::memset(buffer.cpu_view().data(), 0xA5, r.size);  // poison
    ASSERT_TRUE(buffer.make_visible_to_gpu());
    checks_->fill(buffer.gl_name(), r.offset, r.length, seed);
    ASSERT_TRUE(buffer.make_visible_to_cpu());
    const auto view = buffer.cpu_view();
    std::uint64_t wrong = 0;
    for (std::uint64_t i = 0; i < r.size; ++i) {
      const bool inside = i >= r.offset && i < r.offset + r.length;
      const auto want = inside ? test::pattern_byte(seed, i - r.offset) : std::uint8_t{0xA5};
      if (static_cast<std::uint8_t>(view[i]) != want && wrong++ < 5) {
        ADD_FAILURE() << "byte " << i << ": got " << int(view[i]) << ", want " << int(want);
      }
    }
    EXPECT_EQ(wrong, 0u);
  }
}

// checks the copy counters: mapped strategies copy nothing, shadowed ones count every copy
TEST_P(EveryStrategy, CountsCopiesHonestly) {
  auto buffer = make(1 << 16, usage::bidirectional);
  const auto before = ctx_->counters().snapshot();
  for (int i = 0; i < 10; ++i) {
    buffer.cpu_view()[i] = std::byte{static_cast<unsigned char>(i)};
    ASSERT_TRUE(buffer.make_visible_to_gpu());
    ASSERT_TRUE(buffer.make_visible_to_cpu());
  }
  const auto after = ctx_->counters().snapshot();
  const auto copies = after.total_copies() - before.total_copies();
  if (buffer.is_mapped()) {
    EXPECT_EQ(copies, 0u);
  } else {
    EXPECT_EQ(copies, 20u);  // one upload and one readback per iteration
  }
  std::array<std::byte, 4> bytes{};
  ASSERT_TRUE(buffer.write(0, bytes));
  EXPECT_EQ(ctx_->counters().snapshot().copies[static_cast<std::size_t>(copy_path::cpu_memcpy)],
            after.copies[static_cast<std::size_t>(copy_path::cpu_memcpy)] + 1);
}

INSTANTIATE_TEST_SUITE_P(Strategies, EveryStrategy, ::testing::ValuesIn(all_strategies),
                         [](const auto& info) { return std::string(to_string(info.param)); });

class EveryMask : public ::testing::TestWithParam<const char*> {};

// checks that each GPUSOAK_DISABLE mask makes the matrix fall back and the fallback still works
TEST_P(EveryMask, FallbackRoundTrips) {
  auto mask = parse_capability_mask(GetParam());
  ASSERT_TRUE(mask);
  auto ctx = test::make_context({.mask = *mask});
  ASSERT_TRUE(ctx);
  test::gpu_checks checks(*ctx);
  for (usage u : all_usages) {
    SCOPED_TRACE(std::string(GetParam()) + " " + std::string(to_string(u)));
    auto buffer = unified_buffer::create(*ctx, {.size = 12345, .use = u, .tag = "masked"});
    ASSERT_TRUE(buffer) << buffer.error().message;
    EXPECT_EQ(buffer->strategy(), choose_strategy(ctx->caps(), u));
    if (mask->buffer_storage) {
      EXPECT_FALSE(buffer->is_mapped());
    }
    if (mask->coherent) {
      EXPECT_NE(buffer->strategy(), strategy::persistent_coherent);
    }
    auto view = buffer->cpu_view();
    for (std::size_t i = 0; i < view.size(); ++i) view[i] = std::byte(static_cast<unsigned char>(i * 7 + 1));
    ASSERT_TRUE(buffer->make_visible_to_gpu());
    EXPECT_EQ(checks.checksum(buffer->gl_name(), 0, view.size()), test::cpu_checksum(view));
  }
}

INSTANTIATE_TEST_SUITE_P(Masks, EveryMask,
                         ::testing::Values("buffer_storage", "coherent", "pinned", "buffer_storage,coherent,pinned"));

// checks that a preferred strategy that is unsupported fails without fallback and falls back with it
TEST(UnifiedBuffer, PreferredUnsupported) {
  auto ctx = test::make_context({.mask = {.buffer_storage = true}});
  ASSERT_TRUE(ctx);
  auto strict =
      unified_buffer::create(*ctx, {.size = 64, .preferred = strategy::persistent_coherent, .allow_fallback = false});
  ASSERT_FALSE(strict);
  EXPECT_EQ(strict.error().kind, error_kind::unsupported);
  auto lenient = unified_buffer::create(*ctx, {.size = 64, .preferred = strategy::persistent_coherent});
  ASSERT_TRUE(lenient) << lenient.error().message;
  EXPECT_NE(lenient->strategy(), strategy::persistent_coherent);
}

// checks validation: size 0, out-of-range ranges, reading a write-only map; nothing changes on error
TEST(UnifiedBuffer, RejectsBadRequests) {
  auto ctx = test::make_context();
  ASSERT_TRUE(ctx);
  auto zero = unified_buffer::create(*ctx, {.size = 0});
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().kind, error_kind::validation);
  auto buffer = unified_buffer::create(*ctx, {.size = 4096, .use = usage::stream_to_gpu, .tag = "w"});
  ASSERT_TRUE(buffer);
  auto past = buffer->make_visible_to_gpu(4000, 100);
  ASSERT_FALSE(past);
  EXPECT_NE(past.error().message.find("offset 4000 + size 100 exceeds buffer size 4096"), std::string::npos);
  std::array<std::byte, 8> out{};
  if (buffer->is_mapped()) {
    auto read = buffer->read(0, out);
    ASSERT_FALSE(read);
    EXPECT_EQ(read.error().kind, error_kind::validation);
  }
  EXPECT_FALSE(buffer->write(4090, out));
  EXPECT_EQ(ctx->counters().snapshot().live_buffers, 1u);
}

// checks move semantics: the moved-from buffer is released, the GL object survives in the target
TEST(UnifiedBuffer, MovesOwnership) {
  auto ctx = test::make_context();
  ASSERT_TRUE(ctx);
  auto made = unified_buffer::create(*ctx, {.size = 256, .use = usage::bidirectional});
  ASSERT_TRUE(made);
  const unsigned name = made->gl_name();
  unified_buffer moved = std::move(*made);
  EXPECT_EQ(made->state(), map_state::released);  // NOLINT(bugprone-use-after-move): the point
  EXPECT_TRUE(made->cpu_view().empty());
  EXPECT_EQ(moved.gl_name(), name);
  EXPECT_TRUE(glIsBuffer(name));
  EXPECT_EQ(ctx->counters().snapshot().live_buffers, 1u);
  moved = unified_buffer{};
  EXPECT_FALSE(glIsBuffer(name));
  EXPECT_EQ(ctx->counters().snapshot().live_buffers, 0u);
  EXPECT_EQ(ctx->counters().snapshot().live_bytes, 0u);
}

}  // namespace
}  // namespace gpusoak::gpu
