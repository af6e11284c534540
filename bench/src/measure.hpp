// Measures the cells of one size: sync trials interleaved across paths, then each path's
// pipelined run; every upload's read-back checksum is checked.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <span>
#include <string>
#include <vector>

#include "gpusoak/buffers/context.hpp"
#include "gpusoak/buffers/gpu_timer.hpp"
#include "part_pool.hpp"
#include "producer.hpp"
#include "read_every_byte.hpp"
#include "report.hpp"
#include "upload_paths.hpp"

namespace gpusoak::bench::detail {

// What every cell of one sweep shares. Seeds grow over the whole sweep, so no upload ever writes
// the bytes an earlier one left behind: stale data fails the checksum instead of passing.
struct sweep {
  gpu::context& ctx;
  read_every_byte& reader;  // slots >= pipelined_uploads() of any cell + pipeline_depth
  int pipeline_depth = 3;
  part_pool& producers;                                    // threads writing each upload (see produce)
  store_kind pipelined_stores = store_kind::bypass_cache;  // stream_stores(producers' threads)
  // One per reader slot, around the read dispatch into that slot: every sync trial's, and the
  // pipelined ones of large cells (see run_size).
  std::vector<gpu::gpu_timer> read_timers;
  std::string ring_strategy;  // the path whose pipelined run goes through persistent_ring
  std::uint64_t next_seed = 0;
  std::ostream& progress;  // a line per cell
  std::size_t cells_done = 0;
  std::size_t cells_total = 0;
};

// Runs every path at one size and returns one cell per spec, in order. Sync trials go round the
// paths (trial t starts at path t mod n), so load that comes and goes on the machine hits every
// path alike instead of whichever ran at the time. Errors (creation refused, a fence timing out)
// end up in the cell's skipped_reason; the other paths go on.
[[nodiscard]] std::vector<cell_result> run_size(sweep& s, std::span<const path_spec> specs, std::uint64_t size,
                                                int trials);

}  // namespace gpusoak::bench::detail
