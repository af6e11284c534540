// Shared by the conv2d tests: seeded random data (never zeros), the reference check, the seed.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <random>
#include <span>
#include <string>
#include <vector>

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

// Uniform in [-1, 1] with no exact zeros: a kernel that drops a term cannot hide behind a 0.
inline void fill_random(std::span<float> out, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (float& v : out) {
    const float x = dist(rng);
    v = x == 0.0f ? 0.5f : x;
  }
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

}  // namespace gpusoak::test
