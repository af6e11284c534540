// conv2d_reference_at and conv2d_error_bound against the whole reference, on seeded random shapes.
#include "gpusoak/kernels/conv2d_reference.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "conv2d_checks.hpp"  // test_seed, fill_random

namespace gpusoak::kernels {
namespace {

// A random valid shape: groups, dilation, strides and pads that differ between h and w.
conv2d_shape random_shape(std::mt19937_64& rng) {
  const auto pick = [&](std::uint32_t lo, std::uint32_t hi) {
    return std::uniform_int_distribution<std::uint32_t>(lo, hi)(rng);
  };
  for (;;) {
    const std::uint32_t groups = pick(1, 3);
    conv2d_shape s{.n = pick(1, 2),
                   .c = groups * pick(1, 6),
                   .h = pick(1, 12),
                   .w = pick(1, 12),
                   .k = groups * pick(1, 4),
                   .r = pick(1, 5),
                   .s = pick(1, 5),
                   .stride_h = pick(1, 3),
                   .stride_w = pick(1, 3),
                   .pad_h = pick(0, 3),
                   .pad_w = pick(0, 3),
                   .dilation_h = pick(1, 2),
                   .dilation_w = pick(1, 2),
                   .groups = groups,
                   .bias = pick(0, 1) == 1};
    if (s.validate()) return s;
  }
}

struct conv2d_case {
  conv2d_shape shape;
  std::vector<float> input, weights, bias;
};

conv2d_case random_case(std::mt19937_64& rng) {
  conv2d_case c{.shape = random_shape(rng)};
  c.input.resize(c.shape.input_elements());
  c.weights.resize(c.shape.weight_elements());
  c.bias.resize(c.shape.bias_elements());
  test::fill_random(c.input, rng);
  test::fill_random(c.weights, rng);
  test::fill_random(c.bias, rng);
  return c;
}

// The output in float32, each point's terms summed in a random order: a kernel as the bound
// allows it to be (any order, float arithmetic).
std::vector<float> float32_output(const conv2d_case& c, std::mt19937_64& rng) {
  const conv2d_shape& sh = c.shape;
  std::vector<float> out(sh.output_elements());
  const std::uint64_t cpg = sh.c / sh.groups, kpg = sh.k / sh.groups;
  std::size_t i = 0;
  for (std::uint64_t n = 0; n < sh.n; ++n) {
    for (std::uint64_t k = 0; k < sh.k; ++k) {
      for (std::uint64_t p = 0; p < sh.p(); ++p) {
        for (std::uint64_t q = 0; q < sh.q(); ++q, ++i) {
          std::vector<float> terms;
          if (sh.bias) terms.push_back(c.bias[k]);
          for (std::uint64_t cc = 0; cc < cpg; ++cc) {
            const std::uint64_t ch = (k / kpg) * cpg + cc;
            for (std::uint64_t r = 0; r < sh.r; ++r) {
              const auto ih = static_cast<std::int64_t>(p * sh.stride_h + r * sh.dilation_h) - sh.pad_h;
              for (std::uint64_t s = 0; s < sh.s; ++s) {
                const auto iw = static_cast<std::int64_t>(q * sh.stride_w + s * sh.dilation_w) - sh.pad_w;
                if (ih < 0 || ih >= sh.h || iw < 0 || iw >= sh.w) continue;
                const float x = c.input[((n * sh.c + ch) * sh.h + static_cast<std::uint64_t>(ih)) * sh.w +
                                        static_cast<std::uint64_t>(iw)];
                terms.push_back(x * c.weights[((k * cpg + cc) * sh.r + r) * sh.s + s]);
              }
            }
          }
          std::shuffle(terms.begin(), terms.end(), rng);
          out[i] = std::accumulate(terms.begin(), terms.end(), 0.0f);
        }
      }
    }
  }
  return out;
}

// checks that every point conv2d_reference_at computes equals the whole reference's value, and
// its scale equals the whole reference run on absolute values, on random shapes
TEST(Conv2dReference, PointsEqualTheWholeReference) {
  std::mt19937_64 rng(test::test_seed());
  for (int trial = 0; trial < 40; ++trial) {
    const conv2d_case c = random_case(rng);
    const conv2d_shape& sh = c.shape;
    std::vector<double> ref(sh.output_elements()), scale(sh.output_elements());
    conv2d_reference(sh, c.input, c.weights, c.bias, ref);
    const auto abs_of = [](const std::vector<float>& v) {
      std::vector<float> a(v.size());
      std::ranges::transform(v, a.begin(), [](float x) { return std::fabs(x); });
      return a;
    };
    conv2d_reference(sh, abs_of(c.input), abs_of(c.weights), abs_of(c.bias), scale);
    std::size_t i = 0;
    for (std::uint64_t n = 0; n < sh.n; ++n) {
      for (std::uint64_t k = 0; k < sh.k; ++k) {
        for (std::uint64_t p = 0; p < sh.p(); ++p) {
          for (std::uint64_t q = 0; q < sh.q(); ++q, ++i) {
            const conv2d_point point = conv2d_reference_at(sh, c.input, c.weights, c.bias, n, k, p, q);
            ASSERT_EQ(point.value, ref[i]) << sh.to_string() << " at " << n << "," << k << "," << p << "," << q;
            ASSERT_DOUBLE_EQ(point.scale, scale[i]) << sh.to_string() << " at " << i;
          }
        }
      }
    }
  }
}

// checks the error bound from both sides on random shapes: float32 sums in random orders stay
// within it at every point, and one point moved by just over the bound times its scale is caught
TEST(Conv2dReference, ErrorBoundHoldsForFloatSumsAndCatchesAPlantedError) {
  std::mt19937_64 rng(test::test_seed());
  for (int trial = 0; trial < 40; ++trial) {
    const conv2d_case c = random_case(rng);
    const conv2d_shape& sh = c.shape;
    const double bound = conv2d_error_bound(sh, false);
    std::vector<float> out = float32_output(c, rng);
    const auto worst = [&](const std::vector<float>& values) {
      double ratio = 0;
      std::size_t i = 0;
      for (std::uint64_t n = 0; n < sh.n; ++n) {
        for (std::uint64_t k = 0; k < sh.k; ++k) {
          for (std::uint64_t p = 0; p < sh.p(); ++p) {
            for (std::uint64_t q = 0; q < sh.q(); ++q, ++i) {
              const conv2d_point pt = conv2d_reference_at(sh, c.input, c.weights, c.bias, n, k, p, q);
              if (pt.scale > 0) ratio = std::max(ratio, std::fabs(values[i] - pt.value) / pt.scale);
            }
          }
        }
      }
      return ratio;
    };
    EXPECT_LE(worst(out), bound) << sh.to_string();
    // Plant: one random point off by 1.5 bounds of its scale (in float32: at least one ulp more).
    const std::size_t at = std::uniform_int_distribution<std::size_t>(0, out.size() - 1)(rng);
    std::uint64_t rest = at;
    const std::uint64_t q = rest % sh.q(), p = (rest /= sh.q()) % sh.p(), k = (rest /= sh.p()) % sh.k, n = rest / sh.k;
    const conv2d_point pt = conv2d_reference_at(sh, c.input, c.weights, c.bias, n, k, p, q);
    if (pt.scale == 0) continue;  // a point that reads only padding and no bias: nothing to plant on
    out[at] = static_cast<float>(pt.value + 1.5 * bound * pt.scale);
    EXPECT_GT(worst(out), bound) << sh.to_string() << " planted at " << at;
  }
}

// checks the bound's form: gamma_m of the reduction length with a floor of 16 terms, 16 times
// that for winograd, growing with C, R and S, and 1 where m u reaches 1/2
TEST(Conv2dReference, ErrorBoundFollowsTheReductionLength) {
  constexpr double u = 0x1p-24;
  const auto gamma = [&](double m) { return m * u / (1 - m * u); };
  const conv2d_shape tiny{.c = 1, .h = 1, .w = 1, .k = 1};
  EXPECT_DOUBLE_EQ(conv2d_error_bound(tiny, false), gamma(16));
  const conv2d_shape big{.c = 4096, .h = 3, .w = 3, .k = 1, .r = 3, .s = 3};
  EXPECT_DOUBLE_EQ(conv2d_error_bound(big, false), gamma(4096 * 9 + 2));
  EXPECT_DOUBLE_EQ(conv2d_error_bound(big, true), 16 * gamma(4096 * 9 + 2));
  const conv2d_shape grouped{.c = 4096, .h = 3, .w = 3, .k = 4, .r = 3, .s = 3, .groups = 4};
  EXPECT_DOUBLE_EQ(conv2d_error_bound(grouped, false), gamma(1024 * 9 + 2));
  const conv2d_shape huge{.c = 1u << 23, .h = 1, .w = 1, .k = 1};
  EXPECT_EQ(conv2d_error_bound(huge, false), 1.0);
}

}  // namespace
}  // namespace gpusoak::kernels
