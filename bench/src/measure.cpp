#include "measure.hpp"

#include <fmt/format.h>
#include <glad/gl.h>

#include <chrono>
#include <memory>
#include <numeric>
#include <vector>

#include "gpusoak/buffers/fence.hpp"
#include "gpusoak/buffers/persistent_ring.hpp"
#include "producer.hpp"

namespace gpusoak::bench::detail {
namespace {

using clock = std::chrono::steady_clock;
double micros(clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

// Pipelined reads are timed only in large cells: a query pair is noise against a dispatch of
// hundreds of microseconds, but not against a 256 B cell's ~20 us iteration.
bool pipelined_reads_timed(std::uint64_t size) {
  return size >= large_cell_bytes;
}

// Every read dispatch of the sweep goes through here; `timed` puts slot's timer around it.
void read_into(const sweep& s, unsigned buffer, std::uint64_t offset, std::uint64_t size, std::uint32_t slot,
               bool timed) {
  if (timed) s.read_timers[slot].begin();
  s.reader.dispatch(buffer, offset, size, slot);
  if (timed) s.read_timers[slot].end();
}

gpu::result<void> wait_for_gpu(gpu::context& ctx) {
  return gpu::fence::insert(ctx).wait();
}

// The unit every mode times: the producer writes in place, then the path makes it GPU-visible.
gpu::result<void> upload(const sweep& s, upload_path& path, std::uint64_t seed, store_kind stores) {
  auto bytes = path.begin();
  if (!bytes) {
    return std::unexpected(bytes.error());
  }
  produce(*bytes, seed, stores, s.producers);
  return path.end();
}

// Uploads of one run add into reader slots 0, 1, ...; each slot's seed is kept for the check.
class checked_run {
 public:
  explicit checked_run(sweep& s) : s_(s) { s_.reader.clear(); }
  // A fresh seed for the next upload; returns the slot its dispatch adds into.
  std::uint32_t next(std::uint64_t& seed) {
    seed = s_.next_seed++;
    seeds_.push_back(seed);
    return static_cast<std::uint32_t>(seeds_.size() - 1);
  }
  // Reads the sums back (after the dispatches finish) and counts mismatches into the cell.
  void check(cell_result& cell, std::uint64_t size) const {
    const std::vector<std::uint32_t> sums = s_.reader.read(static_cast<std::uint32_t>(seeds_.size()));
    for (std::size_t i = 0; i < sums.size(); ++i) {
      ++cell.checksum_checks;
      cell.checksum_failures += sums[i] != expected_sum(size, seeds_[i]) ? 1 : 0;
    }
  }

 private:
  sweep& s_;
  std::vector<std::uint64_t> seeds_;
};

struct copy_totals {
  std::uint64_t copies = 0;
  std::uint64_t bytes = 0;
};
copy_totals copies_now(const gpu::context& ctx) {
  const gpu::counters_snapshot snap = ctx.counters().snapshot();
  return {snap.total_copies(), std::accumulate(snap.copied_bytes.begin(), snap.copied_bytes.end(), std::uint64_t{0})};
}

// A path's state through the interleaved sync trials of one size.
struct sync_cell {
  const path_spec* spec = nullptr;
  cell_result cell;
  std::unique_ptr<upload_path> path;  // null once the cell failed or was skipped
  std::vector<double> api, e2e, gpu_read;
  copy_totals copies;
};

// One sync trial: upload, dispatch, fence, wait, from an idle GPU. Timed from the first byte the
// producer writes; the checksum is read back untimed. `timed` false makes it the warm-up (first
// touch of the pages, the shader's first dispatch at this size, the driver's caches).
gpu::result<void> sync_trial(sweep& s, sync_cell& c, std::uint64_t size, bool timed) {
  s.reader.clear();
  glFinish();  // untimed: nothing of an earlier trial, path or clear is still queued
  const std::uint64_t seed = s.next_seed++;
  const copy_totals before = copies_now(s.ctx);
  const auto t0 = clock::now();
  if (auto done = upload(s, *c.path, seed, store_kind::bypass_cache); !done) return done;
  const auto t1 = clock::now();
  read_into(s, c.path->gl_name(), 0, size, 0, true);
  if (auto done = wait_for_gpu(s.ctx); !done) return done;
  const auto t2 = clock::now();
  const copy_totals after = copies_now(s.ctx);
  ++c.cell.checksum_checks;
  c.cell.checksum_failures += s.reader.read(1).at(0) != expected_sum(size, seed) ? 1 : 0;
  if (timed) {
    c.api.push_back(micros(t1 - t0));
    c.e2e.push_back(micros(t2 - t0));
    if (auto read = s.read_timers[0].read()) c.gpu_read.push_back(micros(*read));
    c.copies.copies += after.copies - before.copies;
    c.copies.bytes += after.bytes - before.bytes;
  }
  return {};
}

// Runs `step` once per upload, `runs` times: pipeline_depth warm-up uploads, then `iterations`
// timed back to back with one wait at the end, then the checksums. Returns each run's
// microseconds per timed iteration; in large cells also the GPU time of each timed upload's
// read dispatch into cell.pipelined_gpu_read_us (their median).
template <class Step>
gpu::result<std::vector<double>> time_pipeline(sweep& s, cell_result& cell, int runs, Step step) {
  std::vector<double> per_iteration;
  std::vector<double> read_us;
  for (int r = 0; r < runs; ++r) {
    checked_run run(s);
    std::uint64_t seed = 0;
    for (int i = 0; i < s.pipeline_depth; ++i) {
      const std::uint32_t slot = run.next(seed);
      if (auto done = step(slot, seed); !done) return std::unexpected(done.error());
    }
    if (auto done = wait_for_gpu(s.ctx); !done) return std::unexpected(done.error());
    glFinish();
    const auto t0 = clock::now();
    for (int i = 0; i < cell.pipelined_iterations; ++i) {
      const std::uint32_t slot = run.next(seed);
      if (auto done = step(slot, seed); !done) return std::unexpected(done.error());
    }
    if (auto done = wait_for_gpu(s.ctx); !done) return std::unexpected(done.error());
    per_iteration.push_back(micros(clock::now() - t0) / cell.pipelined_iterations);
    if (pipelined_reads_timed(cell.size)) {
      for (int i = 0; i < cell.pipelined_iterations; ++i) {
        if (auto read = s.read_timers[static_cast<std::size_t>(s.pipeline_depth + i)].read()) {
          read_us.push_back(micros(*read));
        }
      }
    }
    run.check(cell, cell.size);
  }
  if (!read_us.empty()) cell.pipelined_gpu_read_us = summarize(std::move(read_us)).median;
  return per_iteration;
}

// The ring's own protocol: acquire (waits only for a segment the GPU still reads), write, then
// submit, which flushes (non-coherent), records the dispatch and fences the segment.
gpu::result<std::vector<double>> through_ring(sweep& s, gpu::persistent_ring& ring, cell_result& cell, int runs) {
  const std::uint64_t size = cell.size;
  return time_pipeline(s, cell, runs, [&](std::uint32_t slot, std::uint64_t seed) -> gpu::result<void> {
    auto segment = ring.acquire();
    if (!segment) return std::unexpected(segment.error());
    produce(segment->bytes, seed, s.pipelined_stores, s.producers);
    return ring.submit(*segment,
                       [&] { read_into(s, ring.gl_name(), segment->offset, size, slot, pipelined_reads_timed(size)); });
  });
}

// Mapped buffers the ring does not cover (the other persistent strategy, pinned_host): the same
// protocol by hand, pipeline_depth buffers each guarded by a fence.
gpu::result<std::vector<double>> through_rotation(sweep& s, std::vector<std::unique_ptr<upload_path>>& paths,
                                                  cell_result& cell, int runs) {
  const std::uint64_t size = cell.size;
  std::vector<gpu::fence> guards(paths.size());
  std::size_t next = 0;
  return time_pipeline(s, cell, runs, [&](std::uint32_t slot, std::uint64_t seed) -> gpu::result<void> {
    if (auto done = guards[next].wait(); !done) return done;
    if (auto done = upload(s, *paths[next], seed, s.pipelined_stores); !done) return done;
    read_into(s, paths[next]->gl_name(), 0, size, slot, pipelined_reads_timed(size));
    guards[next] = gpu::fence::insert(s.ctx);
    next = (next + 1) % paths.size();
    return {};
  });
}

// Copying paths: one buffer, no waits; the driver orders (or orphans) the reuse itself.
gpu::result<std::vector<double>> through_driver(sweep& s, upload_path& path, cell_result& cell, int runs) {
  const std::uint64_t size = cell.size;
  return time_pipeline(s, cell, runs, [&](std::uint32_t slot, std::uint64_t seed) -> gpu::result<void> {
    if (auto done = upload(s, path, seed, s.pipelined_stores); !done) return done;
    read_into(s, path.gl_name(), 0, size, slot, pipelined_reads_timed(size));
    return {};
  });
}

gpu::result<void> run_pipelined(sweep& s, const path_spec& spec, std::unique_ptr<upload_path> path, std::uint64_t size,
                                int iterations, cell_result& cell) {
  cell.pipelined_iterations = iterations;
  const int runs = size >= large_cell_bytes ? 1 : pipelined_runs;
  gpu::result<std::vector<double>> per_iter;
  if (spec.strategy && gpu::to_string(*spec.strategy) == s.ring_strategy) {
    path.reset();  // the ring has its own buffer; give the memory back first
    auto ring =
        gpu::persistent_ring::create(s.ctx, gpu::ring_desc{.segment_size = size,
                                                           .segments = static_cast<std::uint32_t>(s.pipeline_depth),
                                                           .use = gpu::usage::stream_to_gpu,
                                                           .tag = "bench_ring"});
    if (!ring) return std::unexpected(ring.error());
    if (ring->buffer().strategy() != *spec.strategy) {
      return gpu::make_error(
          gpu::error_kind::internal,
          fmt::format("persistent_ring made {} instead of {}", gpu::to_string(ring->buffer().strategy()), spec.name));
    }
    cell.pipelined_via = "persistent_ring";
    per_iter = through_ring(s, *ring, cell, runs);
    cell.ring_blocked_acquisitions = ring->blocked_acquisitions();
  } else if (path->gpu_reads_cpu_memory()) {
    cell.pipelined_via = "buffer_rotation";
    std::vector<std::unique_ptr<upload_path>> paths;
    paths.push_back(std::move(path));
    while (paths.size() < static_cast<std::size_t>(s.pipeline_depth)) {
      auto more = make_upload_path(s.ctx, spec, size);
      if (!more) return std::unexpected(more.error());
      paths.push_back(std::move(*more));
    }
    per_iter = through_rotation(s, paths, cell, runs);
  } else {
    cell.pipelined_via = "driver";
    per_iter = through_driver(s, *path, cell, runs);
  }
  if (!per_iter) return std::unexpected(per_iter.error());
  cell.pipelined_runs_us_per_iter = *per_iter;
  cell.pipelined_us_per_iter = summarize(*per_iter).median;
  return {};
}

std::string describe(const gpu::buffer_error& error) {
  return fmt::format("error ({}): {}", gpu::to_string(error.kind), error.message);
}

void fail(sync_cell& c, const gpu::buffer_error& error) {
  c.cell.skipped_reason = describe(error);
  c.path.reset();
}

void finish_sync(sync_cell& c) {
  c.cell.api_us = summarize(std::move(c.api));
  c.cell.e2e_sync_us = summarize(std::move(c.e2e));
  if (!c.gpu_read.empty()) c.cell.gpu_read_us = summarize(std::move(c.gpu_read)).median;
  if (c.spec->strategy) {  // raw GL paths copy (or not) inside the driver, where no counter sees it
    c.cell.copies_per_iter = static_cast<double>(c.copies.copies) / c.cell.trials;
    c.cell.copied_bytes_per_iter = static_cast<double>(c.copies.bytes) / c.cell.trials;
  }
}

// Why a cell cannot run, known before anything is created, or "".
std::string precheck(const gpu::capabilities& caps, const path_spec& spec, std::uint64_t size) {
  if (spec.strategy) {
    if (auto reason = unsupported_reason(caps, *spec.strategy); !reason.empty()) return reason;
  }
  if (caps.limit.max_ssbo_size > 0 && size > static_cast<std::uint64_t>(caps.limit.max_ssbo_size)) {
    return fmt::format("skipped: {} bytes exceed GL_MAX_SHADER_STORAGE_BLOCK_SIZE ({})", size,
                       caps.limit.max_ssbo_size);
  }
  return "";
}

}  // namespace

std::vector<cell_result> run_size(sweep& s, std::span<const path_spec> specs, std::uint64_t size, int trials) {
  const auto size_start = clock::now();
  std::vector<sync_cell> cells(specs.size());
  for (std::size_t i = 0; i < specs.size(); ++i) {
    sync_cell& c = cells[i];
    c.spec = &specs[i];
    c.cell.path = specs[i].name;
    c.cell.size = size;
    c.cell.trials = trials;
    c.cell.strategy = specs[i].strategy ? std::string(gpu::to_string(*specs[i].strategy)) : "";
    if (c.cell.skipped_reason = precheck(s.ctx.caps(), specs[i], size); !c.cell.skipped_reason.empty()) continue;
    auto path = make_upload_path(s.ctx, specs[i], size);
    if (!path) {
      fail(c, path.error());
      continue;
    }
    c.path = std::move(*path);
    if (auto done = sync_trial(s, c, size, false); !done) fail(c, done.error());
  }
  s.progress << fmt::format("{}: {} sync trials, paths interleaved ...", format_size(size), trials) << std::flush;
  for (int trial = 0; trial < trials; ++trial) {
    for (std::size_t k = 0; k < cells.size(); ++k) {
      sync_cell& c = cells[(k + static_cast<std::size_t>(trial)) % cells.size()];
      if (!c.path) continue;
      if (auto done = sync_trial(s, c, size, true); !done) fail(c, done.error());
    }
  }
  s.progress << fmt::format(" {:.2f} s\n", std::chrono::duration<double>(clock::now() - size_start).count());

  std::vector<cell_result> results;
  for (sync_cell& c : cells) {
    const auto start = clock::now();
    s.progress << fmt::format("[{}/{}] {} {} ...", ++s.cells_done, s.cells_total, c.cell.path, format_size(size))
               << std::flush;
    if (c.path) {
      finish_sync(c);
      // Sync numbers stand even when the pipelined run fails; the failure shows in its column.
      if (auto done = run_pipelined(s, *c.spec, std::move(c.path), size, pipelined_uploads(size, trials), c.cell);
          !done) {
        c.cell.pipelined_via += (c.cell.pipelined_via.empty() ? "" : " ") + describe(done.error());
      }
    }
    const cell_result& r = c.cell;
    s.progress << (r.measured()
                       ? fmt::format(" e2e {:.2f} us, pipelined {} us/iter{} ({:.2f} s)\n", r.e2e_sync_us.median,
                                     r.pipelined_us_per_iter ? fmt::format("{:.2f}", *r.pipelined_us_per_iter) : "n/a",
                                     r.checksum_failures > 0 ? ", CHECKSUM MISMATCH" : "",
                                     std::chrono::duration<double>(clock::now() - start).count())
                       : " " + r.skipped_reason + "\n");
    results.push_back(std::move(c.cell));
  }
  return results;
}

}  // namespace gpusoak::bench::detail
