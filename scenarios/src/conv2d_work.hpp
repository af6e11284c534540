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
  // Compiles the kernels and creates one session per shape with random weights. `path` is what
  // the plan asked for: zero_copy runs zero-copy where the decision matrix allows it on ctx (its
  // capabilities and mask), else on the matrix's fallback, the staging path
  // (kernels::available_path); path() says which.
  [[nodiscard]] static result<conv2d_work> create(gpu::context& ctx, const std::vector<kernels::conv2d_shape>& shapes,
                                                  kernels::conv2d_path path, std::uint64_t seed, const std::string& tag,
                                                  std::chrono::nanoseconds fence_timeout = std::chrono::seconds(60));

  // One batch of the next shape (round robin): NaN-poisoned output, random input written in
  // place, run, latency, result checked against the reference for small shapes. On the zero-copy
  // path, copies made during input + run are added to out.hot_path_copies; on the staging path
  // they are its expected uploads and readbacks, counted by the context under their copy_path.
  void run_one(gpu::context& ctx, step_result& out);

  // The path the batches run on (see create).
  [[nodiscard]] kernels::conv2d_path path() const noexcept { return path_; }
  // The sessions' placements: input (stream_to_gpu), output (gpu_to_cpu), weights (gpu_reads_many).
  [[nodiscard]] std::vector<strategy_use> strategies() const;
  // Test fault (fault::hot_copy): from now on each input is copied in from the private array
  // (conv2d_session::write_input) instead of written in place.
  void copy_inputs() noexcept { copy_inputs_ = true; }

 private:
  struct item {
    kernels::conv2d_session session;
    std::vector<float> weights, bias, input;
    bool checked = false;
  };
  std::vector<item> items_;
  kernels::conv2d_path path_ = kernels::conv2d_path::zero_copy;
  bool copy_inputs_ = false;
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
