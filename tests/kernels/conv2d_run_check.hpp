// One conv2d run checked against the float64 reference, for the differential test
// (conv2d_differential_test.cpp) and the fuzz target that runs shapes (fuzz/fuzz_conv2d_run.cpp).
// No gtest here: the fuzz build has none.
//
// A run is checked twice over:
//  * exactly, on small whole numbers: every product and partial sum is an integer (a quarter for
//    Winograd's transforms) far below 2^24, so float32 holds it exactly in any order of summation
//    and any kernel must agree with the reference to the last bit. One lost, repeated or misplaced
//    term fails, however long the reduction (a rounding bound cannot see one term in 65,536);
//  * within the rounding bound, on uniform reals: |out - ref| <= conv2d_error_bound(shape) times
//    the output's condition (the sum of |w||x| of its terms), the bound growing with the
//    reduction length.
// Outputs are NaN-poisoned first, so an element no pass writes fails too. Large outputs are
// checked on a seeded sample of points, always including the first and the last.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "gpusoak/kernels/conv2d.hpp"
#include "gpusoak/kernels/conv2d_reference.hpp"

namespace gpusoak::test {

// Uniform in [-1, 1] with no exact zeros: a kernel that drops a term cannot hide behind a 0.
inline void fill_random(std::span<float> out, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (float& v : out) {
    const float x = dist(rng);
    v = x == 0.0f ? 0.5f : x;
  }
}

enum class data_kind { whole_numbers, reals };

inline void fill_data(std::span<float> out, std::mt19937_64& rng, data_kind kind) {
  if (kind == data_kind::reals) {
    fill_random(out, rng);
    return;
  }
  // Never zero, so no term can vanish unseen; at most 2 in size, so sums stay exact.
  constexpr float values[] = {-2.0f, -1.0f, 1.0f, 2.0f};
  std::uniform_int_distribution<int> pick(0, 3);
  for (float& v : out) v = values[pick(rng)];
}

// The output indices checked: all of them for small outputs, else a seeded sample that keeps the
// first and the last.
inline std::vector<std::uint64_t> checked_points(std::uint64_t outputs, std::mt19937_64& rng) {
  std::vector<std::uint64_t> points;
  constexpr std::uint64_t full_check_max = 1 << 16;
  if (outputs <= full_check_max) {
    for (std::uint64_t i = 0; i < outputs; ++i) points.push_back(i);
    return points;
  }
  points = {0, outputs - 1};
  std::uniform_int_distribution<std::uint64_t> any(0, outputs - 1);
  for (int i = 0; i < 300; ++i) points.push_back(any(rng));
  return points;
}

struct check_outcome {
  bool ok = true;
  std::string detail;
};

// Runs `shape` on `kernel` and `path` with `kind` data and checks the points.
inline check_outcome run_and_check(gpu::context& ctx, const std::shared_ptr<const kernels::conv2d_kernels>& kernels,
                                   const kernels::conv2d_shape& shape, kernels::conv2d_kernel kernel,
                                   kernels::conv2d_path path, data_kind kind, std::mt19937_64& rng) {
  auto session = kernels::conv2d_session::create(ctx, kernels, shape, {.path = path, .kernel = kernel});
  if (!session) return {false, "create: " + session.error().message};
  std::vector<float> weights(shape.weight_elements()), bias(shape.bias_elements()), input(shape.input_elements());
  fill_data(weights, rng, kind);
  fill_data(bias, rng, kind);
  fill_data(input, rng, kind);
  std::ranges::copy(weights, session->weights().begin());
  std::ranges::copy(bias, session->bias().begin());
  if (auto done = session->commit_weights(); !done) return {false, "commit: " + done.error().message};
  if (auto done = session->poison_outputs(); !done) return {false, "poison: " + done.error().message};
  if (auto done = session->write_input(input); !done) return {false, "input: " + done.error().message};
  auto out = session->run();
  if (!out) return {false, "run: " + out.error().message};

  const double bound = kernels::conv2d_error_bound(shape, session->kernel() == kernels::conv2d_kernel::winograd);
  for (const std::uint64_t i : checked_points(shape.output_elements(), rng)) {
    const std::uint64_t P = shape.p(), Q = shape.q(), K = shape.k;
    const kernels::conv2d_point ref =
        kernels::conv2d_reference_at(shape, input, weights, bias, i / (Q * P * K), i / (Q * P) % K, i / Q % P, i % Q);
    const double got = (*out)[i];
    const double error = std::fabs(got - ref.value);
    const bool within = kind == data_kind::whole_numbers ? got == ref.value : error <= bound * ref.scale;
    if (!within || !std::isfinite(got)) {
      return {false,
              fmt::format("{} ({}): output {} is {}, the reference {} (error {:.3g}, allowed {:.3g})",
                          kernels::to_string(session->kernel()), kind == data_kind::reals ? "reals" : "whole numbers",
                          i, got, ref.value, error, kind == data_kind::reals ? bound * ref.scale : 0.0)};
    }
  }
  return {};
}

}  // namespace gpusoak::test
