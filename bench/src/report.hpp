// Results of the upload benchmark and their two renderings: fixed-width tables for people,
// JSON for tools (and for comparing runs on different machines).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "gpusoak/bench/upload_bench.hpp"
#include "stats.hpp"

namespace gpusoak::bench::detail {

struct machine_info {
  std::string renderer;      // GL_RENDERER
  std::string version;       // GL_VERSION (carries the driver version)
  std::string vendor;        // GL_VENDOR
  std::string vendor_class;  // gpu::vendor_class as text
  bool uma = false;
  std::string backend;        // how the context was made
  std::string masked;         // capability mask applied, "" for none
  std::string date;           // UTC, ISO 8601, when the sweep started
  std::string load_average;   // /proc/loadavg's 1, 5, 15 min at the start: other work skews timings
  std::string matrix_choice;  // choose_strategy(caps, stream_to_gpu)
  std::string ring_strategy;  // the strategy persistent_ring uses here, "" when it cannot exist
};

// One (path, size) cell. Times are microseconds.
struct cell_result {
  std::string path;      // as requested: a strategy name or map_write_unmap
  std::string strategy;  // what was created ("" for map_write_unmap: raw GL, no strategy)
  std::uint64_t size = 0;
  bool matrix_choice = false;                      // path is what the matrix picks for stream_to_gpu
  std::string skipped_reason;                      // non-empty: not measured (unsupported, or an error mid-cell)
  int trials = 0;                                  // timed trials behind api_us and e2e_sync_us
  summary api_us;                                  // producer + make visible
  summary e2e_sync_us;                             // api + read shader + fence wait, one upload at a time
  std::optional<double> gpu_read_us;               // median GPU time of the read shader alone (timer query):
                                                   // over the bus for mapped paths, from VRAM for copying ones
  int pipelined_iterations = 0;                    // per run
  std::vector<double> pipelined_runs_us_per_iter;  // each run's total / iterations, back to back
  std::optional<double> pipelined_us_per_iter;     // the median run
  std::string pipelined_via;                       // "persistent_ring", "buffer_rotation" or "driver" (see run)
  std::uint64_t ring_blocked_acquisitions = 0;     // persistent_ring only
  // Median GPU time of one read dispatch inside the pipelined runs (large cells only). Above
  // gpu_read_us when the pipeline slows the GPU's reads of host memory: on the H100, 16 producer
  // threads writing the next upload slowed its reads of the previous one by ~20%.
  std::optional<double> pipelined_gpu_read_us;
  // From the layer's copy counters over the timed sync trials; nullopt where the layer cannot
  // see copies (map_write_unmap: whatever the driver copies at unmap is invisible to us).
  std::optional<double> copies_per_iter;
  std::optional<double> copied_bytes_per_iter;
  int checksum_failures = 0;  // dispatches whose sum did not match what the producer wrote
  int checksum_checks = 0;

  [[nodiscard]] bool measured() const noexcept { return skipped_reason.empty(); }
};

// "256 B", "64 KiB", "16 MiB": exact binary units where they divide, else bytes.
[[nodiscard]] std::string format_size(std::uint64_t bytes);

// Header lines, the full per-cell table, then the design's H100 layout (API and end to end per
// path, one line per size) with the matrix's pick and the fastest path per size.
void print_tables(std::ostream& out, const machine_info& machine, const upload_bench_options& options,
                  const std::vector<cell_result>& cells);

[[nodiscard]] nlohmann::ordered_json to_json(const machine_info& machine, const upload_bench_options& options,
                                             const std::vector<cell_result>& cells);

}  // namespace gpusoak::bench::detail
