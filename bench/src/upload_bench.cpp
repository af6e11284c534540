#include "gpusoak/bench/upload_bench.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <ostream>

#include "json_file.hpp"
#include "measure.hpp"
#include "report.hpp"

namespace gpusoak::bench {
namespace {

using detail::cell_result;
using detail::path_spec;

// Checks what can be checked without a context; the message names the bad value.
std::string validate(const upload_bench_options& o, const std::vector<std::uint64_t>& sizes) {
  if (o.trials < 1) return fmt::format("trials {}: at least 1 is needed", o.trials);
  if (o.pipeline_depth < 2)
    return fmt::format("pipeline_depth {}: at least 2 segments overlap CPU and GPU", o.pipeline_depth);
  for (const std::uint64_t size : sizes) {
    if (size == 0 || size % 4 != 0)
      return fmt::format("size {}: must be a positive multiple of 4 (the shader reads 32-bit words)", size);
  }
  return "";
}

// /proc/loadavg's first three fields, "" where there is none: a busy box skews every row.
std::string load_average() {
  std::ifstream file("/proc/loadavg");
  std::string one, five, fifteen;
  if (!(file >> one >> five >> fifteen)) return "";
  return fmt::format("{} {} {}", one, five, fifteen);
}

detail::machine_info describe(const gpu::context& ctx) {
  const gpu::capabilities& caps = ctx.caps();
  detail::machine_info m{
      .renderer = caps.renderer,
      .version = caps.version,
      .vendor = caps.vendor,
      .vendor_class = std::string(gpu::to_string(caps.vendor_kind)),
      .uma = caps.uma,
      .backend = std::string(gpu::to_string(ctx.which())),
      .masked = caps.masked,
      .date = fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::time(nullptr))),
      .load_average = load_average(),
      .matrix_choice = std::string(gpu::to_string(gpu::choose_strategy(caps, gpu::usage::stream_to_gpu))),
      .ring_strategy = ""};
  // persistent_ring::create's own order: coherent where allowed, else explicit flush.
  if (caps.ext.ARB_buffer_storage) {
    m.ring_strategy = std::string(gpu::to_string(gpu::is_supported(caps, gpu::strategy::persistent_coherent)
                                                     ? gpu::strategy::persistent_coherent
                                                     : gpu::strategy::persistent_flush));
  }
  return m;
}

}  // namespace

std::vector<std::uint64_t> default_upload_sizes() {
  std::vector<std::uint64_t> sizes;
  for (std::uint64_t size = 256; size <= (std::uint64_t{64} << 20); size *= 4) sizes.push_back(size);
  return sizes;
}

int run_upload_bench(const upload_bench_options& options, std::ostream& out, std::ostream& progress) {
  upload_bench_options o = options;
  if (o.sizes.empty()) o.sizes = default_upload_sizes();
  if (o.paths.empty()) {
    for (const gpu::strategy s : gpu::all_strategies) o.paths.emplace_back(gpu::to_string(s));
    o.paths.emplace_back(map_write_unmap_path);
  }
  if (const std::string problem = validate(o, o.sizes); !problem.empty()) {
    progress << "upload bench: " << problem << '\n';
    return 2;
  }
  std::vector<path_spec> specs;
  for (const std::string& name : o.paths) {
    auto spec = detail::parse_path(name);
    if (!spec) {
      progress << "upload bench: " << spec.error().message << '\n';
      return 2;
    }
    specs.push_back(std::move(*spec));
  }

  auto made = gpu::context::create(o.context);
  if (!made) {
    progress << "upload bench: no GL context: " << made.error().message << '\n';
    return 2;
  }
  std::unique_ptr<gpu::context> ctx = std::move(*made);
  const detail::machine_info machine = describe(*ctx);
  progress << fmt::format("upload bench on {} ({}), {} cells\n", machine.renderer, machine.version,
                          o.sizes.size() * specs.size());

  std::vector<cell_result> cells;
  bool checksum_failed = false;
  {
    // Everything holding GL objects lives in this scope and dies before the context.
    // One reader slot per upload of the longest pipelined run, small cells' or large ones'.
    const int most_uploads = std::max(pipelined_uploads(0, o.trials), pipelined_uploads(large_cell_bytes, o.trials));
    auto reader = detail::read_every_byte::create(*ctx, static_cast<std::uint32_t>(most_uploads + o.pipeline_depth));
    if (!reader) {
      progress << "upload bench: read shader: " << reader.error().message << '\n';
      return 2;
    }
    detail::part_pool producers(o.producer_threads);
    std::vector<gpu::gpu_timer> read_timers;
    for (std::uint32_t i = 0; i < reader->slots(); ++i) read_timers.push_back(gpu::gpu_timer::create());
    detail::sweep sweep{.ctx = *ctx,
                        .reader = *reader,
                        .pipeline_depth = o.pipeline_depth,
                        .producers = producers,
                        .pipelined_stores = detail::stream_stores(o.producer_threads),
                        .read_timers = std::move(read_timers),
                        .ring_strategy = machine.ring_strategy,
                        .progress = progress,
                        .cells_total = o.sizes.size() * specs.size()};
    for (const std::uint64_t size : o.sizes) {
      const int trials = size >= large_cell_bytes ? std::min(o.trials, large_cell_trials) : o.trials;
      for (cell_result& cell : detail::run_size(sweep, specs, size, trials)) {
        cell.matrix_choice = cell.path == machine.matrix_choice;
        checksum_failed = checksum_failed || cell.checksum_failures > 0;
        cells.push_back(std::move(cell));
      }
    }
  }

  detail::print_tables(out, machine, o, cells);
  if (!o.json_path.empty()) {
    if (!detail::write_json_file(o.json_path, detail::to_json(machine, o, cells))) {
      progress << "upload bench: could not write " << o.json_path << '\n';
      return 2;
    }
  }
  return checksum_failed ? 1 : 0;
}

}  // namespace gpusoak::bench
