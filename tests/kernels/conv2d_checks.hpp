// Shared by the conv2d tests: seeded random data (never zeros), the reference check, the seed.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "conv2d_run_check.hpp"  // fill_random
#include "gl_fixture.hpp"
#include "gpusoak/kernels/conv2d.hpp"
#include "gpusoak/kernels/conv2d_reference.hpp"

namespace gpusoak::test {

// GPUSOAK_TEST_SEED when set (to replay a failure), else a fresh one; printed either way.
inline std::uint64_t test_seed() {
  std::uint64_t seed = std::random_device{}();
  if (const char* fixed = std::getenv("GPUSOAK_TEST_SEED")) seed = std::strtoull(fixed, nullptr, 10);
  std::printf("[ seed     ] GPUSOAK_TEST_SEED=%llu\n", static_cast<unsigned long long>(seed));
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  return seed;
}

// The data of one conv2d: kept host-side for the reference; the session gets it written in place.
struct conv2d_data {
  std::vector<float> weights, bias;
};

inline conv2d_data fill_weights(kernels::conv2d_session& session, std::mt19937_64& rng) {
  conv2d_data data;
  data.weights.resize(session.weights().size());
  data.bias.resize(session.bias().size());
  fill_random(data.weights, rng);
  fill_random(data.bias, rng);
  std::ranges::copy(data.weights, session.weights().begin());
  std::ranges::copy(data.bias, session.bias().begin());
  return data;
}

inline constexpr double tolerance = 1e-5;

// ||out - ref|| / ||ref|| for `input` (host copy of what was written); infinite if any element is
// not finite.
inline double error_vs_reference(const kernels::conv2d_shape& shape, std::span<const float> input,
                                 const conv2d_data& data, std::span<const float> out) {
  std::vector<double> ref(shape.output_elements());
  kernels::conv2d_reference(shape, input, data.weights, data.bias, ref);
  return kernels::relative_l2_error(out, ref);
}

// max over outputs of |out - ref| / (sum over its terms of |w||x|, plus |bias|): the error
// relative to the output's condition, the scale floating-point summation errors are bounded by
// (a direct sum of n products is off by at most about n u of it, u = 2^-24 for float32).
// Unlike a relative L2 norm it cannot hide a bad element among large ones, and it does not blow
// up on an output that cancels to near zero. Infinite if any element is not finite.
inline double conditioned_error(const kernels::conv2d_shape& shape, std::span<const float> input,
                                const conv2d_data& data, std::span<const float> out) {
  std::vector<double> ref(shape.output_elements()), scale(shape.output_elements());
  kernels::conv2d_reference(shape, input, data.weights, data.bias, ref);
  const auto abs_of = [](std::span<const float> v) {
    std::vector<float> a(v.size());
    std::ranges::transform(v, a.begin(), [](float x) { return std::fabs(x); });
    return a;
  };
  kernels::conv2d_reference(shape, abs_of(input), abs_of(data.weights), abs_of(data.bias), scale);
  double worst = 0.0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i])) return std::numeric_limits<double>::infinity();
    if (scale[i] > 0.0) worst = std::max(worst, std::fabs(out[i] - ref[i]) / scale[i]);
  }
  return worst;
}

// Winograd F(2x2, 3x3) against conditioned_error. Its rounding error is larger than a direct
// sum's: an output is A^T [U . V] A with U = G g G^T and V = B^T d B, so each of the 16 products
// summed over the C channels carries the rounding of sums of up to 9 weights and 4 inputs, and
// A^T .. A adds 9 more terms (Barabasz et al., "Error analysis and improving the accuracy of
// Winograd convolution for deep neural networks", 2020: F(2x2, 3x3) is a few times direct).
// Measured on llvmpipe with this metric, on the edge shapes below (C 1 to 33): winograd up to
// 6e-7, direct up to 2e-7, both of the order of u = 6e-8 as they should be. 1e-5 leaves more
// than ten times that margin, and still fails when a quarter of U is off by a relative 1e-4
// (tried: 1e-5 to 2.4e-4 on every edge shape), let alone a dropped or misplaced term.
inline constexpr double winograd_tolerance = 1e-5;

// A GL context with the conv2d programs built, and a random generator whose seed the test log
// prints (test_seed).
class Conv2dOnAContext : public ::testing::Test {
 protected:
  void SetUp() override {
    ctx_ = make_context();
    ASSERT_TRUE(ctx_);
    auto made = kernels::conv2d_kernels::create(*ctx_);
    ASSERT_TRUE(made) << made.error().message;
    kernels_ = std::move(*made);
  }

  std::unique_ptr<gpu::context> ctx_;
  std::shared_ptr<const kernels::conv2d_kernels> kernels_;
  std::mt19937_64 rng_{test_seed()};
};

}  // namespace gpusoak::test
