// The reduction's passes under a loop cap (kernels/src/reduction_split.hpp), without a context:
// they cover the reduction once, in order, each within half the cap by the loop model; no cap
// means one pass; a shape that cannot fit is refused naming the cap.
#include "reduction_split.hpp"

#include <gtest/gtest.h>

#include <random>

#include "conv2d_checks.hpp"
#include "kernel_choice.hpp"

namespace gpusoak::kernels::detail {
namespace {

constexpr std::uint32_t llvmpipe_cap = 65535;

conv2d_shape shape(const char* text) {
  auto parsed = parse_conv2d_shape(text);
  EXPECT_TRUE(parsed) << text;
  return *parsed;
}

// The units a kernel's reduction has (reduction_split.hpp's table).
std::uint64_t units_of(conv2d_kernel kernel, const conv2d_shape& s) {
  switch (kernel) {
    case conv2d_kernel::tiled: return (s.c + tiled_params::in_channels - 1) / tiled_params::in_channels;
    case conv2d_kernel::gemm:
    case conv2d_kernel::gemm_wide: return (std::uint64_t{s.c / s.groups} * s.r * s.s + 15) / 16;
    case conv2d_kernel::winograd: return (s.c + 15) / 16;
    default: return std::uint64_t{s.c / s.groups} * s.r;
  }
}

// Passes cover [0, units) once and in order (direct: each row's columns [0, S) once).
void expect_covers(conv2d_kernel kernel, const conv2d_shape& s, const reduction_split& split) {
  ASSERT_FALSE(split.passes.empty());
  std::uint64_t next_row = 0, next_column = 0;
  for (const reduction_pass& pass : split.passes) {
    ASSERT_EQ(pass.begin, next_row) << s.to_string();
    ASSERT_LT(pass.begin, pass.end);
    if (kernel == conv2d_kernel::direct) {
      ASSERT_EQ(pass.s_begin, next_column);
      ASSERT_LT(pass.s_begin, pass.s_end);
      ASSERT_LE(pass.s_end, s.s);
      if (pass.s_end == s.s) {
        next_row = pass.end;
        next_column = 0;
      } else {
        ASSERT_EQ(pass.end, pass.begin + 1) << "a row cut by columns is a pass alone";
        next_column = pass.s_end;
      }
    } else {
      next_row = pass.end;
    }
  }
  EXPECT_EQ(next_row, units_of(kernel, s)) << s.to_string();
}

// checks that without a cap every kernel runs one pass over the whole reduction
TEST(ReductionSplit, NoCapIsOnePass) {
  for (const char* text : {"N1 C4096 8x8 K16 3x3 p1", "N1 C1 1x1100000 K1 1x1100000", "N1 C3 9x9 K4 3x3 p1"}) {
    for (const conv2d_kernel kernel : {conv2d_kernel::direct, conv2d_kernel::tiled, conv2d_kernel::gemm,
                                       conv2d_kernel::gemm_wide, conv2d_kernel::winograd}) {
      if (design_refusal(kernel, shape(text))) continue;
      auto split = split_reduction(kernel, shape(text), false, std::nullopt);
      ASSERT_TRUE(split) << split.error().message;
      ASSERT_EQ(split->passes.size(), 1u);
      expect_covers(kernel, shape(text), *split);
    }
  }
}

// checks that the shapes llvmpipe once summed short are split into passes that each stay within
// half its cap, covering the reduction once in order; a 1x70000 filter row is cut by columns
TEST(ReductionSplit, LongReductionsSplitWithinHalfTheCap) {
  const std::pair<const char*, conv2d_kernel> cases[] = {
      {"N1 C4096 8x8 K16 3x3 p1", conv2d_kernel::direct},    {"N1 C3072 8x8 K16 3x3 s2 p1", conv2d_kernel::tiled},
      {"N1 C8192 4x4 K16 1x1", conv2d_kernel::tiled},        {"N1 C1 250x250 K1 250x250", conv2d_kernel::gemm_wide},
      {"N1 C1 1x1100000 K1 1x1100000", conv2d_kernel::gemm}, {"N1 C1 1x70000 K1 1x70000", conv2d_kernel::direct},
      {"N1 C8192 8x8 K64 3x3 p1", conv2d_kernel::winograd},  {"N1 C4096 8x8 K16 3x3 p1", conv2d_kernel::gemm},
      {"N1 C66000 2x2 K2 1x1 bias", conv2d_kernel::tiled}};
  for (const auto& [text, kernel] : cases) {
    SCOPED_TRACE(text);
    auto split = split_reduction(kernel, shape(text), false, llvmpipe_cap);
    ASSERT_TRUE(split) << split.error().message;
    EXPECT_GT(split->passes.size(), 1u);
    std::printf("%-32s %-10s %zu passes\n", text, std::string(to_string(kernel)).c_str(), split->passes.size());
    EXPECT_LE(split->loop_iterations, llvmpipe_cap / 2);
    expect_covers(kernel, shape(text), *split);
  }
  auto row = split_reduction(conv2d_kernel::direct, shape("N1 C1 1x70000 K1 1x70000"), false, llvmpipe_cap);
  ASSERT_TRUE(row);
  EXPECT_LT(row->passes.front().s_end, 70000u);
}

// checks on random shapes and caps that every kernel's split covers its reduction within half
// the cap, or is refused with a reason that names the cap
TEST(ReductionSplit, RandomShapesCoverTheirReductionOrSayWhyNot) {
  std::mt19937_64 rng(test::test_seed());
  const auto draw = [&](std::uint32_t lo, std::uint32_t hi) {
    return std::uniform_int_distribution<std::uint32_t>(lo, hi)(rng);
  };
  int split = 0, refused = 0;
  for (int i = 0; i < 3000; ++i) {
    conv2d_shape s{.n = draw(1, 64),
                   .c = draw(1, 20000),
                   .h = draw(1, 300),
                   .w = draw(1, 300),
                   .k = draw(1, 300),
                   .r = draw(0, 1) ? 3 : draw(1, 40),
                   .s = draw(0, 1) ? 3 : draw(1, 40),
                   .pad_h = draw(0, 2),
                   .pad_w = draw(0, 2)};
    s.r = std::min(s.r, s.h + 2 * s.pad_h);
    s.s = std::min(s.s, s.w + 2 * s.pad_w);
    if (!s.validate()) continue;
    const std::uint32_t cap = draw(0, 1) ? llvmpipe_cap : draw(1000, 200000);
    for (const conv2d_kernel kernel : {conv2d_kernel::direct, conv2d_kernel::tiled, conv2d_kernel::gemm,
                                       conv2d_kernel::gemm_wide, conv2d_kernel::winograd}) {
      if (design_refusal(kernel, s)) continue;
      SCOPED_TRACE(s.to_string() + " on " + std::string(to_string(kernel)) + ", cap " + std::to_string(cap));
      auto made = split_reduction(kernel, s, false, cap);
      if (!made) {
        EXPECT_EQ(made.error().kind, gpu::error_kind::unsupported);
        EXPECT_NE(made.error().message.find(std::to_string(cap)), std::string::npos) << made.error().message;
        ++refused;
        continue;
      }
      EXPECT_LE(made->loop_iterations, cap / 2);
      expect_covers(kernel, s, *made);
      ++split;
    }
  }
  EXPECT_GT(split, 1000);
}

// checks that under llvmpipe's cap the pick never names a kernel that cannot run the shape, and
// that it still runs every shape of the list
TEST(ReductionSplit, PickNeverChoosesARefusedKernel) {
  for (const char* text : {"N1 C3072 8x8 K16 3x3 s2 p1 bias", "N1 C8192 4x4 K16 1x1 bias", "N1 C66000 2x2 K2 1x1 bias",
                           "N1 C1 1x1100000 K1 1x1100000", "N1 C4096 8x8 K16 3x3 p1 g2"}) {
    for (const kernel_tuning* t : {&nvidia_discrete_tuning, &other_discrete_tuning, &uma_tuning}) {
      const conv2d_kernel k = choose_kernel(shape(text), *t, llvmpipe_cap);
      auto plan = plan_kernel(k, shape(text), *t, false, llvmpipe_cap);
      EXPECT_TRUE(plan) << text << " on " << to_string(k) << ": " << plan.error().message;
    }
  }
}

}  // namespace
}  // namespace gpusoak::kernels::detail
