// Upload benchmark: how long it takes to get N bytes from a CPU producer to a GPU shader, per
// buffer strategy and for the traditional map/write/unmap path, swept over sizes like
// nvbandwidth. The design's H100 table ("API" and "end to end" per path) is the model.
//
// Per (path, size) it measures, with the same producer loop writing 64-bit words in place:
//   api            producer writes the bytes + make them GPU-visible (flush, copy or unmap)
//   e2e sync       api + a compute shader that reads every byte + fence + wait
//   e2e pipelined  the same, back to back without waiting per upload (persistent_ring for the
//                  ring's strategy), reported per iteration
// and the buffer layer's copy counter per upload, so zero-copy rows show 0.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "gpusoak/buffers/context.hpp"

namespace gpusoak::bench {

struct upload_bench_options {
  std::vector<std::uint64_t> sizes;  // bytes, multiples of 4; empty = 256 B .. 64 MiB, x4 steps
  std::vector<std::string> paths;    // strategy names and/or "map_write_unmap"; empty = every
                                     // strategy (unsupported ones show as skipped) + map_write_unmap
  int trials = 15;                   // per cell (median and p99 over these); sizes >= 16 MiB
                                     // use at most 5, recorded per row
  int pipeline_depth = 3;            // ring segments (buffers) for the pipelined mode, >= 2
  int producer_threads = 1;          // threads writing each upload from 4 MiB up, >= 1
  std::string json_path;             // "" = no JSON file
  gpu::context_options context;      // which backend/device/mask
};

// Cells this large run at most large_cell_trials trials: on a software rasterizer one 64 MiB
// upload and read takes tens of milliseconds, and the default sweep must stay short.
inline constexpr std::uint64_t large_cell_bytes = std::uint64_t{16} << 20;
inline constexpr int large_cell_trials = 5;
// The pipelined run (2 x trials uploads back to back) is repeated this often and the median run
// reported, so one stall of the machine does not decide a row; large cells run it once.
inline constexpr int pipelined_runs = 3;
// A large cell's one pipelined run streams this many uploads: a stream's rate is its steady
// state, and the first upload's fill, which no read overlaps, is 1% of such a run instead of the
// 10% of 2 x 5 (64 MiB, 16 writers, H100 host: 42.4-44.7 GB/s over 10 uploads, 49.4-49.9 over 100).
inline constexpr int large_cell_pipelined_uploads = 100;
// Uploads in one pipelined run of a `size`-byte cell whose sync trials numbered `trials`.
[[nodiscard]] constexpr int pipelined_uploads(std::uint64_t size, int trials) noexcept {
  return size >= large_cell_bytes ? large_cell_pipelined_uploads : 2 * trials;
}

// 256 B, 1 KiB, ... 64 MiB (x4 steps): the default sweep.
[[nodiscard]] std::vector<std::uint64_t> default_upload_sizes();

// The path name of the traditional glMapNamedBufferRange / write / glUnmapNamedBuffer upload.
inline constexpr const char* map_write_unmap_path = "map_write_unmap";

// Runs the sweep on the calling thread (it creates and owns the GL context), prints a progress
// line per cell to `progress` and the tables to `out`, and writes JSON to options.json_path.
// Returns 0; 1 when a shader read back a checksum that does not match what the producer wrote
// (a correctness failure: the row is marked); 2 when it could not run: bad options, no context
// (message to `progress`) or the JSON file could not be written.
int run_upload_bench(const upload_bench_options& options, std::ostream& out, std::ostream& progress);

}  // namespace gpusoak::bench
