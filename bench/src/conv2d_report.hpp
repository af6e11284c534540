// Results of the conv2d benchmark: one row per (shape, path, mode); a table and JSON.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "gpusoak/bench/conv2d_bench.hpp"
#include "stats.hpp"

namespace gpusoak::bench::detail {

struct conv2d_machine {
  std::string renderer, version, cpu, backend, date, load_average;
};

// Dispatches conv2d_session::time_dispatches runs per sync cell on a real GPU timer.
inline constexpr int back_to_back_dispatches = 20;
// Timed batches per sync cell for kernel_ms (at most the cell's end-to-end batches).
inline constexpr int kernel_timed_batches = 20;

struct conv2d_cell {
  std::string shape;  // canonical text
  std::string kernel;
  std::string path;  // "zero-copy" | "staging"
  std::string mode;  // "sync" | "pipelined"
  std::string input_strategy, output_strategy, weight_strategy;
  // Why the cell's path cannot run on this context (zero-copy under a mask): not measured, not
  // an error. Empty when it ran.
  std::string not_available;
  double gflop = 0;  // per batch
  int iterations = 0;
  int depth = 1;
  summary latency_ms;            // per batch, end to end
  double gflops_per_second = 0;  // sync: gflop / median; pipelined: total gflop / total time
  // Sync: median GPU time of the dispatch alone (a timer query, in kernel_timed_batches batches
  // of their own, after the end-to-end ones). With bus copies, from the copy in to the copy out.
  std::optional<double> kernel_ms;
  // Sync, where the timer sees the dispatch: median of back_to_back_dispatches run back to back
  // (the GPU at its working clock, as cuDNN's conv alone is timed); GFLOP/s over this one.
  std::optional<double> kernel_back_to_back_ms;
  std::optional<double> kernel_gflops_per_second;
  // Sync: where a batch's span goes, medians of each part (they need not add up to the span's
  // median): the producer writing the input, submit (a flush or the upload, the dispatch, the
  // fence), finish (the fence wait, and on staging the readback). past_producer: submit and
  // finish together, the input in host memory .. the output readable, the span PyTorch's
  // end-to-end reference times (its input tensor exists before its clock starts).
  struct split {
    double produce_ms = 0, submit_ms = 0, finish_ms = 0, past_producer_ms = 0;
  };
  std::optional<split> sync_split;
  double total_ms = 0;  // pipelined: the whole back-to-back run
  double copies_per_iter = 0;
  double copied_bytes_per_iter = 0;
  std::optional<double> reference_error;  // relative L2, when checked
  // Shapes past reference_check_max_flops: the worst |out - ref| / scale over sampled_points output
  // points of the first batch (kernels::conv2d_reference_at, float64), and the bound it must stay
  // within (kernels::conv2d_error_bound for the kernel that ran). Infinite when one is not finite.
  std::optional<double> sampled_error;
  double sampled_bound = 0;
  bool outputs_finite = true;
  std::string error;  // non-empty: the cell could not run

  [[nodiscard]] bool failed() const noexcept;  // an output check failed (not: could not run)
};

void print_conv2d_table(std::ostream& out, const conv2d_machine& machine, const conv2d_bench_options& options,
                        const std::vector<conv2d_cell>& cells);
[[nodiscard]] nlohmann::ordered_json conv2d_to_json(const conv2d_machine& machine, const conv2d_bench_options& options,
                                                    const std::vector<conv2d_cell>& cells);

}  // namespace gpusoak::bench::detail
