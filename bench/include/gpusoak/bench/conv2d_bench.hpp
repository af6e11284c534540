// conv2d benchmark: the same kernels on the zero-copy path and the staging path, synchronous
// and pipelined, over shape families. One cell is (shape, path, mode); per cell it measures
//   latency     end to end per batch: the producer starts writing the input in place, until the
//               output is readable on the CPU (sync: run(); pipelined: begin() .. finish())
//   throughput  FLOPs / time: sync per median batch; pipelined over the whole back-to-back run
//   copies      the buffer layer's copy counter per batch (zero-copy rows must show 0)
// Every output is NaN-poisoned before the cell and checked finite after; small shapes are also
// checked against the double-precision reference, larger ones on sampled output points against
// it, within an error bound derived from the reduction length.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "gpusoak/buffers/context.hpp"
#include "gpusoak/kernels/conv2d.hpp"

namespace gpusoak::bench {

enum class conv2d_mode { sync, pipelined };

struct conv2d_bench_options {
  std::vector<std::string> shapes;          // parse_conv2d_shape text; empty = default_conv2d_shapes()
  std::vector<kernels::conv2d_path> paths;  // empty = zero_copy and staging
  std::vector<conv2d_mode> modes;           // empty = sync and pipelined
  kernels::conv2d_kernel kernel = kernels::conv2d_kernel::automatic;
  int iterations = 5;        // timed batches per cell, >= 1 (at most; see cell_seconds)
  int warmup = 1;            // untimed batches per cell first, for shapes up to
                             // warmup_max_flops (the JIT is warmed once anyway)
  double cell_seconds = 10;  // a cell stops adding timed batches once it would pass
                             // this (at least 1 batch): llvmpipe runs the large
                             // shapes at seconds to a minute per batch
  int pipeline_depth = 3;    // slots in pipelined mode, >= 2
  int producer_threads = 1;  // threads writing each input of 4 MiB or more, >= 1 (the upload
                             // bench's rule: one core caps writes into the mapping)
  std::string json_path;     // "" = no JSON file
  gpu::context_options context;
};

// The families: from N1 C3 32x32 K16 3x3 up to N32 C128 28x28 K128 3x3 and a 1x1.
// All 3x3 ones are padded by 1 (same-size output, as networks use them).
[[nodiscard]] std::vector<std::string> default_conv2d_shapes();

// Shapes with at most this many FLOPs are checked against the whole CPU reference (which runs
// in double precision on one core: a GFLOP takes seconds).
inline constexpr double reference_check_max_flops = 6e8;
// Larger ones on this many output points of their first batch (the first and the last among
// them, the rest drawn from the batch's seed), each against kernels::conv2d_reference_at in
// double and within kernels::conv2d_error_bound of its scale.
inline constexpr int sampled_check_points = 256;
// Larger shapes get no per-cell warm-up batch: one costs as much as the timed ones, and the
// kernels are JIT-compiled by a tiny dispatch of each at the start of the run.
inline constexpr double warmup_max_flops = 1e9;

[[nodiscard]] std::string_view to_string(conv2d_mode mode) noexcept;
[[nodiscard]] gpu::result<conv2d_mode> parse_conv2d_mode(std::string_view text);  // "sync", "pipelined"

// Runs every cell on the calling thread (it creates and owns the GL context), prints a progress
// line per cell to `progress`, the table to `out`, and writes JSON to options.json_path.
// Returns 0; 1 when an output failed its check (non-finite or off the reference: the row is
// marked); 2 when it could not run: bad options, a forced kernel that cannot run one of the shapes
// (checked before any cell runs), no context, a cell that could not run, JSON not writable.
int run_conv2d_bench(const conv2d_bench_options& options, std::ostream& out, std::ostream& progress);

}  // namespace gpusoak::bench
