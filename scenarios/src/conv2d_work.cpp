#include "conv2d_work.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "gpusoak/kernels/conv2d_reference.hpp"
#include "gpusoak/scenarios/units.hpp"
#include "scenario_params.hpp"

namespace gpusoak::scenarios::detail {

namespace {
void fill_random(std::span<float> out, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (float& v : out) {
    const float x = dist(rng);
    v = x == 0.0f ? 0.5f : x;
  }
}
}  // namespace

std::vector<kernels::conv2d_shape> read_shapes(param_reader& in, std::string_view name,
                                               std::vector<std::string> fallback) {
  std::vector<kernels::conv2d_shape> shapes;
  std::uint64_t bytes = 0;
  for (const auto& text : in.list(name, std::move(fallback), max_shapes)) {
    auto shape = kernels::parse_conv2d_shape(text);
    if (!shape) {
      // The message names the shape: "shape 'N1 C3 banana': token 'banana': ...".
      in.problem(name, fmt::format("{}; use conv2d shapes like \"N1 C3 32x32 K16 3x3 p1\"", shape.error().message));
      continue;
    }
    // Element counts saturate (conv2d_shape), and validate() keeps each below 2^31: no overflow.
    bytes +=
        4 * (shape->input_elements() + shape->weight_elements() + shape->bias_elements() + shape->output_elements());
    shapes.push_back(*shape);
  }
  if (bytes > max_shape_bytes) {
    in.problem(name, fmt::format("the shapes need {} of buffers (input, weights, bias and output, float32); "
                                 "at most {} in all: use smaller N, C, K or H x W",
                                 format_bytes(bytes), format_bytes(max_shape_bytes)));
  }
  return shapes;
}

result<conv2d_work> conv2d_work::create(gpu::context& ctx, const std::vector<kernels::conv2d_shape>& shapes,
                                        kernels::conv2d_path path, std::uint64_t seed, const std::string& tag,
                                        std::chrono::nanoseconds fence_timeout) {
  const kernels::conv2d_path available = kernels::available_path(ctx.caps(), path);
  GPUSOAK_TRY_ASSIGN(auto kernels, kernels::conv2d_kernels::create(ctx));
  conv2d_work work;
  work.rng_.seed(seed);
  work.path_ = available;
  for (const auto& shape : shapes) {
    GPUSOAK_TRY_ASSIGN(auto session,
                       kernels::conv2d_session::create(ctx, kernels, shape,
                                                       {.path = work.path_, .timeout = fence_timeout, .tag = tag}));
    item it{.session = std::move(session)};
    it.weights.resize(it.session.weights().size());
    it.bias.resize(it.session.bias().size());
    it.input.resize(shape.input_elements());
    fill_random(it.weights, work.rng_);
    fill_random(it.bias, work.rng_);
    std::ranges::copy(it.weights, it.session.weights().begin());
    std::ranges::copy(it.bias, it.session.bias().begin());
    GPUSOAK_TRY(it.session.commit_weights());
    const double macs = static_cast<double>(shape.output_elements()) * (shape.c / shape.groups) * shape.r * shape.s;
    it.checked = macs <= max_checked_macs;
    work.items_.push_back(std::move(it));
  }
  return work;
}

std::vector<strategy_use> conv2d_work::strategies() const {
  if (items_.empty()) return {};
  const auto& session = items_.front().session;
  return {{.use = gpu::usage::stream_to_gpu, .strategy = session.input_strategy()},
          {.use = gpu::usage::gpu_to_cpu, .strategy = session.output_strategy()},
          {.use = gpu::usage::gpu_reads_many, .strategy = session.weight_strategy()}};
}

void conv2d_work::run_one(gpu::context& ctx, step_result& out) {
  if (items_.empty()) return;
  item& it = items_[next_];
  next_ = (next_ + 1) % items_.size();
  const std::string shape_text = it.session.shape().to_string();
  if (it.checked) {
    if (auto p = it.session.poison_outputs(); !p) {
      out.fail(fmt::format("conv2d {}: poisoning outputs failed: {}", shape_text, p.error().message));
      return;
    }
  }
  const std::uint64_t copies_before = ctx.counters().snapshot().total_copies();
  const auto start = std::chrono::steady_clock::now();
  fill_random(it.input, rng_);
  if (copy_inputs_) {
    if (auto w = it.session.write_input(it.input); !w) {
      out.fail(fmt::format("conv2d {}: copying the input failed: {}", shape_text, w.error().message));
      return;
    }
  } else {
    std::ranges::copy(it.input, it.session.input().begin());
  }
  auto result = it.session.run();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Only a zero-copy strategy has a hot path that must not copy; the staging fallback's uploads
  // and readbacks are its design, counted by the context under their own copy_path.
  if (path_ == kernels::conv2d_path::zero_copy) {
    out.hot_path_copies += ctx.counters().snapshot().total_copies() - copies_before;
  }
  if (!result) {
    if (result.error().kind == error_kind::out_of_memory) ++out.oom_events;
    if (result.error().kind == error_kind::context_lost) out.context_lost = true;
    out.fail(fmt::format("conv2d {}: run failed ({}): {}", shape_text, gpu::to_string(result.error().kind),
                         result.error().message));
    return;
  }
  out.latency.add(seconds);
  out.strategy = it.session.input_strategy();
  ++out.iterations;
  if (!it.checked) return;
  std::vector<double> ref(it.session.shape().output_elements());
  kernels::conv2d_reference(it.session.shape(), it.input, it.weights, it.bias, ref);
  const double err = kernels::relative_l2_error(*result, ref);
  if (!(err < 1e-5)) {
    ++out.integrity_failures;
    out.fail(fmt::format("conv2d {}: relative L2 error {} vs the reference (limit 1e-5)", shape_text, err));
  }
}

}  // namespace gpusoak::scenarios::detail
