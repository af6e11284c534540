// Private: conv2d batches with their checks, shared by conv2d_steady, memory_pressure and
// multi_context.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gpusoak/kernels/conv2d.hpp"
#include "gpusoak/scenarios/scenario.hpp"
#include "scenario_params.hpp"

namespace gpusoak::scenarios::detail {

// Shapes whose reference costs more multiply-adds than this are run but not checked (the double
// reference would dominate the step).
inline constexpr double max_checked_macs = 4e6;

class conv2d_work {
 public:
  // Parses the shapes (errors name the param line through the caller), compiles the kernels and
  // creates one session per shape with random weights.
  [[nodiscard]] static gpu::result<conv2d_work> create(
      gpu::context& ctx, const std::vector<kernels::conv2d_shape>& shapes, kernels::conv2d_path path,
      std::uint64_t seed, const std::string& tag, std::chrono::nanoseconds fence_timeout = std::chrono::seconds(60));

  // One batch of the next shape (round robin): NaN-poisoned output, random input written in
  // place, run, latency, result checked against the reference for small shapes. Copies made
  // during input + run are added to out.hot_path_copies.
  void run_one(gpu::context& ctx, step_result& out);

 private:
  struct item {
    kernels::conv2d_session session;
    std::vector<float> weights, bias, input;
    bool checked = false;
  };
  std::vector<item> items_;
  std::size_t next_ = 0;
  std::mt19937_64 rng_;
};

// A scenario's shapes together may ask for at most this many bytes of float32 buffers (input,
// weights, bias and output of each): more cannot be a soak of a GPU's memory layer but an OOM at
// setup. Each scenario holds its buffers for the whole phase.
inline constexpr std::uint64_t max_shape_bytes = 1ull << 30;
inline constexpr std::size_t max_shapes = 16;

// Reads param `name` as a list of conv2d shape texts (fallback when absent); each bad shape, and a
// list whose buffers pass max_shape_bytes, is a problem recorded in `in`. Bad shapes are left out.
[[nodiscard]] std::vector<kernels::conv2d_shape> read_shapes(param_reader& in, std::string_view name,
                                                             std::vector<std::string> fallback);

}  // namespace gpusoak::scenarios::detail
