#include "gpusoak/bench/conv2d_bench.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <ostream>
#include <random>

#include "conv2d_report.hpp"
#include "conv2d_sampled_check.hpp"
#include "gpusoak/kernels/conv2d_reference.hpp"
#include "json_file.hpp"
#include "producer.hpp"

namespace gpusoak::bench {
namespace {

using clock_type = std::chrono::steady_clock;
using detail::conv2d_cell;
using kernels::conv2d_path;
using kernels::conv2d_session;
using kernels::conv2d_shape;

double ms_since(clock_type::time_point start, clock_type::time_point end = clock_type::now()) {
  return std::chrono::duration<double, std::milli>(end - start).count();
}

// The producer: writes the batch straight into `out` (the mapping on the zero-copy path):
// uniform values in [-0.5, 0.5) from a hash of (seed, index), never all zeros, and the same seed
// reproduces the batch for the reference check. Not a serial generator: a xorshift's dependency
// chain cost ~2.5 ns an element inside the timed span, where cuDNN's end-to-end reference copies
// a tensor that already exists. Blocks of 16 with a fixed trip count are what GCC's -O2
// vectoriser takes, and the AVX2 clone has 8-lane multiplies: 65,536 elements (N1 C16 64x64) take
// ~25 µs here instead of ~160.
float hashed_value(std::uint32_t index, std::uint32_t key) {
  std::uint32_t x = index * 0x9e3779b9u + key;  // lowbias32's mix
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return static_cast<float>(x >> 8) * (1.0f / 16777216.0f) - 0.5f;
}

// The AVX2 clone is picked by an ifunc resolver at load time; under ThreadSanitizer that resolver
// runs before the runtime is up and crashed bench_test at start, so TSan builds get one version.
#if defined(__SANITIZE_THREAD__)
#define GPUSOAK_WITH_AVX2_CLONE
#else
#define GPUSOAK_WITH_AVX2_CLONE __attribute__((target_clones("avx2", "default")))
#endif

// Elements [first, last) of the batch of `seed`.
GPUSOAK_WITH_AVX2_CLONE void produce_range(std::span<float> out, std::size_t first, std::size_t last,
                                           std::uint32_t seed) {
  const std::uint32_t key = seed * 2654435761u;
  float* const v = out.data();
  constexpr std::size_t block = 16;
  std::size_t i = first;
  for (; i + block <= last; i += block) {
    for (std::size_t j = 0; j < block; ++j) v[i + j] = hashed_value(static_cast<std::uint32_t>(i + j), key);
  }
  for (; i < last; ++i) v[i] = hashed_value(static_cast<std::uint32_t>(i), key);
}

void produce(std::span<float> out, std::uint32_t seed) {
  produce_range(out, 0, out.size(), seed);
}

// The same values, on the pool's threads where detail::produce_in_parts says so.
void produce(std::span<float> out, std::uint32_t seed, detail::part_pool& pool) {
  detail::produce_in_parts(pool, out.size(), sizeof(float),
                           [&](std::size_t first, std::size_t last) { produce_range(out, first, last, seed); });
}

bool all_finite(std::span<const float> values) {
  for (const float v : values) {
    if (!std::isfinite(v)) return false;
  }
  return true;
}

std::string first_line_of(const char* file, std::string_view key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(key)) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "";
}

std::string load_average() {
  std::ifstream file("/proc/loadavg");
  std::string one, five, fifteen;
  if (!(file >> one >> five >> fifteen)) return "";
  return fmt::format("{} {} {}", one, five, fifteen);
}

// What one cell shares with the rest of the sweep.
struct cell_context {
  gpu::context& ctx;
  std::shared_ptr<const kernels::conv2d_kernels> kernels;
  const conv2d_bench_options& options;
  detail::part_pool& producers;  // options.producer_threads of them
  std::uint32_t next_seed = 1;
  std::map<std::string, double> batch_ms;  // shape -> median sync batch, for pipelined budgets
};

std::vector<float> weights_for(const conv2d_shape& shape, std::uint32_t seed, bool bias) {
  std::vector<float> values(bias ? shape.bias_elements() : shape.weight_elements());
  produce(values, seed);
  return values;
}

// Relative error of `out` for the batch produced from `seed` (weights from seeds 0x5eed / 0xb1a5).
double reference_error(const conv2d_shape& shape, std::uint32_t seed, std::span<const float> out) {
  std::vector<float> input(shape.input_elements());
  produce(input, seed);
  std::vector<double> ref(shape.output_elements());
  kernels::conv2d_reference(shape, input, weights_for(shape, 0x5eed, false), weights_for(shape, 0xb1a5, true), ref);
  return kernels::relative_l2_error(out, ref);
}

// The output check of a cell's first batch: the whole reference up to reference_check_max_flops,
// sampled points past it.
void check_first_batch(const conv2d_session& session, std::uint32_t seed, std::span<const float> out,
                       conv2d_cell& cell) {
  const conv2d_shape& shape = session.shape();
  if (shape.flops() <= reference_check_max_flops) {
    cell.reference_error = reference_error(shape, seed, out);
    return;
  }
  cell.sampled_error = detail::sampled_error(shape, seed, out);
  cell.sampled_bound = kernels::conv2d_error_bound(shape, session.kernel() == kernels::conv2d_kernel::winograd);
}

// A session of the cell's shape with the bench's weights and bias (seeds 0x5eed / 0xb1a5, as
// reference_error assumes) written and committed.
gpu::result<conv2d_session> open_session(cell_context& cc, const conv2d_shape& shape,
                                         const kernels::session_options& options) {
  auto made = conv2d_session::create(cc.ctx, cc.kernels, shape, options);
  if (!made) return made;
  produce(made->weights(), 0x5eed);
  produce(made->bias(), 0xb1a5);
  if (auto ok = made->commit_weights(); !ok) return std::unexpected(ok.error());
  return made;
}

// Measures one (shape, path, mode) cell into `cell`. Errors go to the caller as results.
gpu::result<void> measure(cell_context& cc, const conv2d_shape& shape, conv2d_path path, conv2d_mode mode,
                          conv2d_cell& cell) {
  const conv2d_bench_options& o = cc.options;
  const std::uint32_t depth = mode == conv2d_mode::sync ? 1u : static_cast<std::uint32_t>(o.pipeline_depth);
  auto made = open_session(cc, shape, {.path = path, .pipeline_depth = depth, .kernel = o.kernel, .tag = "bench"});
  if (!made) return std::unexpected(made.error());
  conv2d_session& session = *made;
  cell.kernel = std::string(kernels::to_string(session.kernel()));
  cell.input_strategy = std::string(gpu::to_string(session.input_strategy()));
  cell.output_strategy = std::string(gpu::to_string(session.output_strategy()));
  cell.weight_strategy = std::string(gpu::to_string(session.weight_strategy()));
  cell.depth = static_cast<int>(depth);
  if (auto ok = session.poison_outputs(); !ok) return ok;

  for (int i = 0; i < (shape.flops() <= warmup_max_flops ? o.warmup : 0); ++i) {
    produce(session.input(), cc.next_seed++, cc.producers);
    auto out = session.run();
    if (!out) return std::unexpected(out.error());
    cell.outputs_finite = cell.outputs_finite && all_finite(*out);
  }

  std::vector<double> latencies;
  std::vector<double> produce_ms, submit_ms, finish_ms, past_producer_ms;
  const gpu::counters_snapshot before = cc.ctx.counters().snapshot();
  const auto start = clock_type::now();
  int iterations = o.iterations;
  if (mode == conv2d_mode::sync) {
    for (int i = 0; i < iterations; ++i) {
      const std::uint32_t seed = cc.next_seed++;
      const auto t0 = clock_type::now();
      auto in = session.begin();
      if (!in) return std::unexpected(in.error());
      produce(*in, seed, cc.producers);
      const auto produced = clock_type::now();
      if (auto ok = session.submit(); !ok) return ok;
      const auto submitted = clock_type::now();
      auto out = session.finish();
      if (!out) return std::unexpected(out.error());
      const auto finished = clock_type::now();
      latencies.push_back(ms_since(t0, finished));
      produce_ms.push_back(ms_since(t0, produced));
      submit_ms.push_back(ms_since(produced, submitted));
      finish_ms.push_back(ms_since(submitted, finished));
      past_producer_ms.push_back(ms_since(produced, finished));
      // The consumer, outside the timed span: every element, every batch.
      cell.outputs_finite = cell.outputs_finite && all_finite(*out);
      if (i == 0) check_first_batch(session, seed, *out, cell);
      // Another batch like the last would pass the cell's budget: stop here.
      if (ms_since(start) + latencies.back() > o.cell_seconds * 1e3) iterations = i + 1;
    }
    cc.batch_ms[shape.to_string()] = detail::summarize(latencies).median;
    cell.sync_split = {.produce_ms = detail::summarize(produce_ms).median,
                       .submit_ms = detail::summarize(submit_ms).median,
                       .finish_ms = detail::summarize(finish_ms).median,
                       .past_producer_ms = detail::summarize(past_producer_ms).median};
    cell.total_ms = ms_since(start);
  } else {
    // Back to back: the CPU produces batch k+1 while batch k is in flight, and finishes the
    // oldest only when every slot is taken. The consumer (NaN check) runs in the loop as a real
    // one would; its time is taken out of the throughput, not out of the latencies.
    // The budget from the shape's sync batches, when measured (else the full count).
    if (auto known = cc.batch_ms.find(shape.to_string()); known != cc.batch_ms.end() && known->second > 0) {
      iterations = std::clamp(static_cast<int>(o.cell_seconds * 1e3 / known->second), 1, o.iterations);
    }
    std::vector<clock_type::time_point> begun(static_cast<std::size_t>(iterations));
    std::vector<std::uint32_t> seeds(begun.size());
    double consumer_ms = 0;
    int finished = 0;
    const auto finish_oldest = [&]() -> gpu::result<void> {
      auto out = session.finish();
      if (!out) return std::unexpected(out.error());
      const auto done = clock_type::now();
      latencies.push_back(ms_since(begun[static_cast<std::size_t>(finished)], done));
      cell.outputs_finite = cell.outputs_finite && all_finite(*out);
      if (finished == 0) check_first_batch(session, seeds[0], *out, cell);
      consumer_ms += ms_since(done);
      ++finished;
      return {};
    };
    for (int i = 0; i < iterations; ++i) {
      if (session.in_flight() == session.depth()) {
        if (auto ok = finish_oldest(); !ok) return ok;
      }
      seeds[static_cast<std::size_t>(i)] = cc.next_seed++;
      begun[static_cast<std::size_t>(i)] = clock_type::now();
      auto in = session.begin();
      if (!in) return std::unexpected(in.error());
      produce(*in, seeds[static_cast<std::size_t>(i)], cc.producers);
      if (auto ok = session.submit(); !ok) return ok;
    }
    while (session.in_flight() > 0) {
      if (auto ok = finish_oldest(); !ok) return ok;
    }
    cell.total_ms = ms_since(start) - consumer_ms;
  }
  const gpu::counters_snapshot after = cc.ctx.counters().snapshot();
  cell.copies_per_iter = static_cast<double>(after.total_copies() - before.total_copies()) / iterations;
  std::uint64_t bytes = 0;
  for (std::size_t p = 0; p < gpu::copy_path_count; ++p) bytes += after.copied_bytes[p] - before.copied_bytes[p];
  cell.copied_bytes_per_iter = static_cast<double>(bytes) / iterations;
  cell.iterations = iterations;
  cell.latency_ms = detail::summarize(latencies);
  cell.gflops_per_second = mode == conv2d_mode::sync ? cell.gflop / (cell.latency_ms.median / 1e3)
                                                     : cell.gflop * iterations / (cell.total_ms / 1e3);
  return {};
}

// A sync cell's GPU time, on a session of its own with timer queries: reading a query costs the
// driver a round trip, so the end-to-end batches run without them, as PyTorch's end-to-end
// reference runs without CUDA events. The first batch is a warm-up (new buffers).
gpu::result<void> measure_kernel(cell_context& cc, const conv2d_shape& shape, conv2d_path path, conv2d_cell& cell) {
  auto made = open_session(cc, shape, {.path = path, .kernel = cc.options.kernel, .tag = "bench", .time_kernel = true});
  if (!made) return std::unexpected(made.error());
  conv2d_session& session = *made;
  std::vector<double> kernel_ms;
  for (int i = 0; i <= std::min(cell.iterations, detail::kernel_timed_batches); ++i) {
    produce(session.input(), cc.next_seed++, cc.producers);
    auto out = session.run();
    if (!out) return std::unexpected(out.error());
    cell.outputs_finite = cell.outputs_finite && all_finite(*out);
    if (auto gpu_time = session.kernel_time(); gpu_time && i > 0) {
      kernel_ms.push_back(std::chrono::duration<double, std::milli>(*gpu_time).count());
    }
  }
  if (kernel_ms.empty()) return {};
  cell.kernel_ms = detail::summarize(kernel_ms).median;
  // llvmpipe answers ~1 ns for a compute dispatch: no rate from a timer that did not see it.
  if (*cell.kernel_ms < 1e-3) return {};
  auto times = session.time_dispatches(detail::back_to_back_dispatches);
  if (!times) return std::unexpected(times.error());
  std::vector<double> ms;
  for (const auto t : *times) ms.push_back(std::chrono::duration<double, std::milli>(t).count());
  cell.kernel_back_to_back_ms = detail::summarize(ms).median;
  cell.kernel_gflops_per_second = shape.flops() / 1e9 / (*cell.kernel_back_to_back_ms / 1e3);
  return {};
}

std::string validate(const conv2d_bench_options& o) {
  if (o.iterations < 1) return fmt::format("iterations {}: at least 1 is needed", o.iterations);
  if (o.warmup < 0) return fmt::format("warmup {}: cannot be negative", o.warmup);
  if (!(o.cell_seconds > 0)) return fmt::format("cell_seconds {}: must be positive", o.cell_seconds);
  if (o.pipeline_depth < 2) {
    return fmt::format("pipeline_depth {}: at least 2 slots overlap CPU and GPU", o.pipeline_depth);
  }
  if (o.producer_threads < 1) return fmt::format("producer_threads {}: at least 1 is needed", o.producer_threads);
  return "";
}

// Why a forced `kernel` cannot run one of `shapes`, or "" when it runs them all: the one place
// the bench asks conv2d_kernels::supports(), so a cell never reaches "could not run" for it.
std::string forced_kernel_problem(kernels::conv2d_kernel kernel, const std::vector<conv2d_shape>& shapes,
                                  const gpu::capabilities& caps) {
  for (const conv2d_shape& shape : shapes) {
    if (auto supported = kernels::conv2d_kernels::supports(kernel, shape, caps); !supported) {
      return fmt::format(
          "--kernel {}: {} (docs/kernels.md lists what each kernel runs); use --kernel auto or leave "
          "the shape out",
          kernels::to_string(kernel), supported.error().message);
    }
  }
  return "";
}

}  // namespace

namespace detail {

void produce_values(std::span<float> out, std::uint32_t seed) {
  bench::produce(out, seed);
}

double sampled_error(const conv2d_shape& shape, std::uint32_t seed, std::span<const float> out) {
  std::vector<float> input(shape.input_elements());
  bench::produce(input, seed);
  const std::vector<float> weights = weights_for(shape, 0x5eed, false), bias = weights_for(shape, 0xb1a5, true);
  const std::uint64_t count = out.size();
  std::vector<std::uint64_t> points = {0, count - 1};
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::uint64_t> any(0, count - 1);
  while (points.size() < std::min<std::uint64_t>(count, sampled_check_points)) points.push_back(any(rng));
  double worst = 0;
  for (const std::uint64_t at : points) {
    if (!std::isfinite(out[at])) return std::numeric_limits<double>::infinity();
    std::uint64_t rest = at;  // NKPQ: q fastest
    const std::uint64_t q = rest % shape.q(), p = (rest /= shape.q()) % shape.p();
    const std::uint64_t k = (rest /= shape.p()) % shape.k, n = rest / shape.k;
    const kernels::conv2d_point ref = kernels::conv2d_reference_at(shape, input, weights, bias, n, k, p, q);
    const double off = std::fabs(static_cast<double>(out[at]) - ref.value);
    // A point with no terms (only padding, no bias) must come out exactly 0.
    worst = std::max(worst, ref.scale > 0 ? off / ref.scale : (off > 0 ? std::numeric_limits<double>::infinity() : 0));
  }
  return worst;
}

}  // namespace detail

std::vector<std::string> default_conv2d_shapes() {
  return {"N1 C3 32x32 K16 3x3 p1",  "N1 C16 64x64 K16 3x3 p1",  "N1 C64 56x56 K64 3x3 p1",
          "N8 C64 56x56 K64 3x3 p1", "N32 C64 56x56 K64 3x3 p1", "N32 C128 28x28 K128 3x3 p1",
          "N1 C256 14x14 K256 1x1"};
}

std::string_view to_string(conv2d_mode mode) noexcept {
  return mode == conv2d_mode::sync ? "sync" : "pipelined";
}

gpu::result<conv2d_mode> parse_conv2d_mode(std::string_view text) {
  if (text == "sync") return conv2d_mode::sync;
  if (text == "pipelined") return conv2d_mode::pipelined;
  return gpu::make_error(gpu::error_kind::validation, fmt::format("mode '{}': use sync or pipelined", text));
}

int run_conv2d_bench(const conv2d_bench_options& options, std::ostream& out, std::ostream& progress) {
  conv2d_bench_options o = options;
  if (o.shapes.empty()) o.shapes = default_conv2d_shapes();
  if (o.paths.empty()) o.paths = {conv2d_path::zero_copy, conv2d_path::staging};
  if (o.modes.empty()) o.modes = {conv2d_mode::sync, conv2d_mode::pipelined};
  if (const std::string problem = validate(o); !problem.empty()) {
    progress << "conv2d bench: " << problem << '\n';
    return 2;
  }
  std::vector<conv2d_shape> shapes;
  for (const std::string& text : o.shapes) {
    auto shape = kernels::parse_conv2d_shape(text);
    if (!shape) {
      progress << "conv2d bench: --shape: " << shape.error().message << '\n';
      return 2;
    }
    shapes.push_back(*shape);
  }

  auto made = gpu::context::create(o.context);
  if (!made) {
    progress << "conv2d bench: no GL context: " << made.error().message << '\n';
    return 2;
  }
  std::unique_ptr<gpu::context> ctx = std::move(*made);
  if (const std::string problem = forced_kernel_problem(o.kernel, shapes, ctx->caps()); !problem.empty()) {
    progress << "conv2d bench: " << problem << '\n';
    return 2;
  }
  const detail::conv2d_machine machine{.renderer = ctx->caps().renderer,
                                       .version = ctx->caps().version,
                                       .cpu = first_line_of("/proc/cpuinfo", "model name"),
                                       .backend = std::string(gpu::to_string(ctx->which())),
                                       .date = fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::time(nullptr))),
                                       .load_average = load_average()};

  std::vector<conv2d_cell> cells;
  {
    // Everything holding GL objects lives in this scope and dies before the context.
    auto kernels = kernels::conv2d_kernels::create(*ctx);
    if (!kernels) {
      progress << "conv2d bench: " << kernels.error().message << '\n';
      return 2;
    }
    detail::part_pool producers(o.producer_threads);
    cell_context cc{.ctx = *ctx, .kernels = *kernels, .options = o, .producers = producers};
    // Zero-copy cells need a mapped strategy from the decision matrix; under a mask
    // (--disable buffer_storage) or on a driver without one they are listed as not available.
    const std::optional<std::string> zero_copy_unavailable = kernels::zero_copy_unavailable(ctx->caps());
    const auto available = [&](conv2d_path path) { return path != conv2d_path::zero_copy || !zero_copy_unavailable; };
    const auto warm_path = std::ranges::find_if(o.paths, available);
    // One tiny dispatch of each kernel: the driver compiles (JITs) on first use, and the large
    // shapes have no warm-up batch of their own. None when no requested path is available.
    for (const char* tiny : {"N1 C8 8x8 K8 3x3 p1", "N1 C3 9x9 K5 3x3 d2"}) {
      if (warm_path == o.paths.end()) break;
      conv2d_cell scratch;
      conv2d_bench_options quiet = o;
      quiet.iterations = 1;
      quiet.warmup = 0;
      quiet.kernel = kernels::conv2d_kernel::automatic;
      cell_context warm{.ctx = *ctx, .kernels = *kernels, .options = quiet, .producers = producers};
      if (auto ok = measure(warm, *kernels::parse_conv2d_shape(tiny), *warm_path, conv2d_mode::sync, scratch); !ok) {
        progress << "conv2d bench: warm-up on " << tiny << ": " << ok.error().message << '\n';
        return 2;
      }
    }
    const std::size_t total = shapes.size() * o.paths.size() * o.modes.size();
    progress << fmt::format("conv2d bench on {} ({}): {} cells, {} batches each after {} warm-up\n", machine.renderer,
                            machine.version, total, o.iterations, o.warmup);
    for (const conv2d_shape& shape : shapes) {
      for (const conv2d_path path : o.paths) {
        for (const conv2d_mode mode : o.modes) {
          conv2d_cell cell{
              .shape = shape.to_string(),
              .kernel = std::string(kernels::to_string(o.kernel == kernels::conv2d_kernel::automatic
                                                           ? kernels::conv2d_kernels::pick(shape, ctx->caps())
                                                           : o.kernel)),
              .path = std::string(kernels::to_string(path)),
              .mode = std::string(to_string(mode)),
              .gflop = shape.flops() / 1e9};
          if (!available(path)) {
            cell.not_available = *zero_copy_unavailable;
            progress << fmt::format("[{}/{}] {} {} {} {}: not available: {}\n", cells.size() + 1, total, cell.shape,
                                    cell.kernel, cell.path, cell.mode, cell.not_available);
            cells.push_back(std::move(cell));
            continue;
          }
          const auto started = clock_type::now();
          if (auto ok = measure(cc, shape, path, mode, cell); !ok) {
            cell.error = ok.error().message;
          } else if (mode == conv2d_mode::sync) {
            if (auto timed = measure_kernel(cc, shape, path, cell); !timed) cell.error = timed.error().message;
          }
          progress << fmt::format("[{}/{}] {} {} {} {}: ", cells.size() + 1, total, cell.shape, cell.kernel, cell.path,
                                  cell.mode);
          if (cell.error.empty()) {
            progress << fmt::format("median {:.3f} ms, {:.2f} GFLOP/s, {} copies/batch{} ({:.1f} s)\n",
                                    cell.latency_ms.median, cell.gflops_per_second, cell.copies_per_iter,
                                    cell.failed() ? ", CHECK FAILED" : "", ms_since(started) / 1e3);
          } else {
            progress << "could not run: " << cell.error << '\n';
          }
          cells.push_back(std::move(cell));
        }
      }
    }
  }

  detail::print_conv2d_table(out, machine, o, cells);
  bool failed = false, could_not_run = false;
  for (const conv2d_cell& c : cells) {
    failed = failed || c.failed();
    could_not_run = could_not_run || !c.error.empty();
  }
  if (!o.json_path.empty()) {
    if (!detail::write_json_file(o.json_path, detail::conv2d_to_json(machine, o, cells))) {
      progress << "conv2d bench: could not write " << o.json_path << '\n';
      return 2;
    }
  }
  // A wrong output outranks a cell that could not run; neither is a pass.
  return failed ? 1 : could_not_run ? 2 : 0;
}

}  // namespace gpusoak::bench
