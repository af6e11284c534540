// scratch_buffer: GPU-only storage, accounted like every buffer of the layer.
#include "gpusoak/buffers/scratch_buffer.hpp"

#include <gtest/gtest.h>

#include <utility>

#include "gl_fixture.hpp"

namespace gpusoak::gpu {
namespace {

// checks that a scratch buffer reserves its bytes from the budget and counts as a live buffer
// until destroyed, moves without double-freeing, and refuses size 0 and sizes past the budget
TEST(ScratchBuffer, IsAccountedAndFreedOnce) {
  auto ctx = test::make_context({.budget_bytes = 64ull << 20});
  ASSERT_TRUE(ctx);
  const auto before = ctx->counters().snapshot();
  {
    auto made = scratch_buffer::create(*ctx, 1 << 20, "test.scratch");
    ASSERT_TRUE(made) << made.error().message;
    EXPECT_NE(made->gl_name(), 0u);
    EXPECT_EQ(made->size(), 1u << 20);
    EXPECT_EQ(ctx->budget().used(), 1u << 20);
    EXPECT_EQ(ctx->counters().snapshot().live_buffers, before.live_buffers + 1);
    scratch_buffer moved = std::move(*made);
    EXPECT_EQ(made->gl_name(), 0u);
    EXPECT_EQ(moved.size(), 1u << 20);
    EXPECT_EQ(ctx->budget().used(), 1u << 20);
  }
  EXPECT_EQ(ctx->budget().used(), 0u);
  EXPECT_EQ(ctx->counters().snapshot().live_buffers, before.live_buffers);

  auto empty = scratch_buffer::create(*ctx, 0, "test.empty");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().kind, error_kind::validation);
  auto huge = scratch_buffer::create(*ctx, 65ull << 20, "test.huge");
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().kind, error_kind::out_of_memory) << huge.error().message;
  EXPECT_EQ(ctx->budget().used(), 0u);
}

}  // namespace
}  // namespace gpusoak::gpu
