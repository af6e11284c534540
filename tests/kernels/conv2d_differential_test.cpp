// conv2d against a float64 reference on seeded random shapes over the whole accepted space:
// groups, dilation, strides and pads that differ between h and w, tiny and huge extents, and
// reductions below, at and above the driver's loop cap, on every kernel that accepts the shape,
// both paths and the automatic pick; each run checked exactly on whole numbers and within the
// rounding bound on reals (conv2d_run_check.hpp says how).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "conv2d_checks.hpp"
#include "conv2d_run_check.hpp"
#include "gl_fixture.hpp"
#include "gpusoak/kernels/conv2d.hpp"
#include "gpusoak/kernels/conv2d_reference.hpp"

namespace gpusoak::kernels {
namespace {

using rng_t = std::mt19937_64;

std::uint32_t draw(rng_t& rng, std::uint32_t lo, std::uint32_t hi) {
  return std::uniform_int_distribution<std::uint32_t>(lo, hi)(rng);
}

// The loop cap's edges that the kernels' passes are planned around (kernels/src/reduction_split.hpp:
// half the cap a pass), and the cap itself, as reduction lengths to land on, below and above.
std::vector<std::uint32_t> reduction_edges(const gpu::capabilities& caps) {
  const std::uint32_t cap = caps.quirk.max_loop_iterations.value_or(65535);
  std::vector<std::uint32_t> edges;
  for (const std::uint32_t edge : {cap / 2, cap}) {
    for (const std::int64_t delta : {-1, 0, 1}) edges.push_back(static_cast<std::uint32_t>(edge + delta));
  }
  return edges;
}

// An ordinary shape: every token in play, small enough that llvmpipe runs it in milliseconds.
conv2d_shape ordinary_shape(rng_t& rng) {
  for (;;) {
    const std::uint32_t groups = draw(rng, 0, 2) == 0 ? draw(rng, 2, 4) : 1;
    conv2d_shape s{.n = draw(rng, 1, 3),
                   .c = groups * draw(rng, 1, 9),
                   .h = draw(rng, 1, 19),
                   .w = draw(rng, 1, 19),
                   .k = groups * draw(rng, 1, 12),
                   .r = draw(rng, 1, 5),
                   .s = draw(rng, 1, 5),
                   .stride_h = draw(rng, 1, 3),
                   .stride_w = draw(rng, 1, 3),
                   .pad_h = draw(rng, 0, 3),
                   .pad_w = draw(rng, 0, 3),
                   .dilation_h = draw(rng, 1, 3),
                   .dilation_w = draw(rng, 1, 2),
                   .groups = groups,
                   .bias = draw(rng, 0, 1) == 1};
    if (draw(rng, 0, 2) == 0) {  // the 3x3 stride-1 family winograd and tiled take
      s.r = s.s = 3;
      s.stride_h = s.stride_w = 1;
      s.dilation_h = s.dilation_w = 1;
    }
    if (s.validate()) return s;
  }
}

// A long reduction of about `length` terms per output, laid out one of four ways (channels of
// a 1x1, a 1xS filter, a 3x3 over many channels, a square filter), with few outputs.
conv2d_shape long_reduction(rng_t& rng, std::uint32_t length) {
  const std::uint32_t k = draw(rng, 1, 3);
  const bool bias = draw(rng, 0, 1) == 1;
  switch (draw(rng, 0, 3)) {
    case 0: return {.c = length, .h = draw(rng, 1, 3), .w = draw(rng, 1, 3), .k = k, .bias = bias};
    case 1: return {.c = 1, .h = 1, .w = length + draw(rng, 0, 2), .k = k, .r = 1, .s = length, .bias = bias};
    case 2: {
      const std::uint32_t c = std::max<std::uint32_t>(1, length / 9);
      return {.c = c, .h = 4, .w = 4, .k = k, .r = 3, .s = 3, .pad_h = 1, .pad_w = draw(rng, 0, 1), .bias = bias};
    }
    default: {
      const auto side = static_cast<std::uint32_t>(std::sqrt(static_cast<double>(length)));
      return {.c = 1, .h = side, .w = side + 1, .k = k, .r = side, .s = side, .bias = bias};
    }
  }
}

// Huge extents with short reductions: long rows, many images, outputs past what one dispatch
// axis covers (65,535 groups), so the grid-stride loops run.
conv2d_shape huge_extent(rng_t& rng) {
  switch (draw(rng, 0, 2)) {
    case 0: return {.c = 1, .h = 1, .w = draw(rng, 200000, 600000), .k = 1, .r = 1, .s = 3, .pad_w = 1};
    case 1: return {.n = draw(rng, 300, 700), .c = 2, .h = 3, .w = 3, .k = 2, .r = 3, .s = 3, .pad_h = 1, .pad_w = 1};
    default: return {.c = 1, .h = 2100, .w = 2100, .k = 1, .r = 1, .s = 1, .bias = true};
  }
}

class Conv2dDifferential : public test::Conv2dOnAContext {
 protected:
  // Every kernel that accepts `shape` (and the automatic pick) on a random path, or on both for
  // `both_paths`; a refused kernel must say why, and the pick must accept whatever some kernel does.
  void check(const conv2d_shape& shape, bool both_paths) {
    SCOPED_TRACE(shape.to_string());
    ASSERT_TRUE(shape.validate()) << shape.validate().error().message;
    bool any_accepts = false;
    for (const conv2d_kernel kernel : {conv2d_kernel::automatic, conv2d_kernel::direct, conv2d_kernel::tiled,
                                       conv2d_kernel::gemm, conv2d_kernel::gemm_wide, conv2d_kernel::winograd}) {
      if (auto refused = conv2d_kernels::supports(kernel, shape, ctx_->caps()); !refused) {
        EXPECT_FALSE(refused.error().message.empty());
        EXPECT_NE(kernel, conv2d_kernel::automatic) << "no kernel accepts it: " << refused.error().message;
        continue;
      }
      any_accepts = any_accepts || kernel != conv2d_kernel::automatic;
      const conv2d_path paths[] = {conv2d_path::zero_copy, conv2d_path::staging};
      for (const conv2d_path path : paths) {
        if (!both_paths && path != paths[draw(rng_, 0, 1)]) continue;
        for (const test::data_kind kind : {test::data_kind::whole_numbers, test::data_kind::reals}) {
          const test::check_outcome o = test::run_and_check(*ctx_, kernels_, shape, kernel, path, kind, rng_);
          EXPECT_TRUE(o.ok) << to_string(kernel) << " on " << to_string(path) << ": " << o.detail;
        }
        ++runs_;
      }
    }
    EXPECT_TRUE(any_accepts);
    EXPECT_TRUE(conv2d_kernels::supports(conv2d_kernels::pick(shape, ctx_->caps()), shape, ctx_->caps()));
  }

  int runs_ = 0;
};

// checks ordinary random shapes (groups, dilation, unequal strides and pads, bias) on every kernel
// that accepts them and both paths, exactly on whole numbers and within the bound on reals
TEST_F(Conv2dDifferential, OrdinaryShapesOnEveryKernelAndPath) {
  for (int i = 0; i < 24; ++i) check(ordinary_shape(rng_), true);
  EXPECT_GT(runs_, 24);
}

// checks reductions at, just below and just above each loop-cap edge, and random long ones up to
// 300,000 terms, laid out as channels, long rows, 3x3 stacks and square filters
TEST_F(Conv2dDifferential, LongReductionsBelowAtAndAboveTheLoopCap) {
  std::vector<std::uint32_t> lengths = reduction_edges(ctx_->caps());
  for (int i = 0; i < 3; ++i) lengths.push_back(draw(rng_, 70000, 300000));
  for (const std::uint32_t length : lengths) check(long_reduction(rng_, length), false);
}

// checks shapes whose outputs pass one dispatch axis (grid-stride loops) or whose rows are long,
// on a sample of their outputs
TEST_F(Conv2dDifferential, HugeExtents) {
  for (int i = 0; i < 2; ++i) check(huge_extent(rng_), false);
}

// checks the shapes the loop cap broke before, by name: each right on every kernel that accepts it
TEST_F(Conv2dDifferential, ShapesThatOnceCameBackWrong) {
  for (const char* text : {"N1 C3072 8x8 K16 3x3 s2 p1 bias", "N1 C8192 4x4 K16 1x1 bias", "N1 C66000 2x2 K2 1x1 bias",
                           "N1 C4096 8x8 K16 3x3 p1", "N1 C1 256x256 K1 256x256", "N1 C1 1x70000 K1 1x70000",
                           "N1 C1 250x250 K1 250x250"}) {
    check(*parse_conv2d_shape(text), false);
  }
}

}  // namespace
}  // namespace gpusoak::kernels
