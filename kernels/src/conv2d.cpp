#include "gpusoak/kernels/conv2d.hpp"

#include <fmt/format.h>
#include <glad/gl.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "kernel_choice.hpp"
#include "reduction_split.hpp"
#include "shader_sources.hpp"

namespace gpusoak::kernels {
namespace {

using gpu::error_kind;
using gpu::make_error;

// GL guarantees this many work groups per dispatch axis; the shaders loop over the rest.
constexpr std::uint64_t max_groups_per_axis = 65535;

std::uint32_t clamp_groups(std::uint64_t groups) {
  return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(groups, 1, max_groups_per_axis));
}

std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) {
  return (a + b - 1) / b;
}

// The per-program #defines of one compiled variant.
struct variant {
  // The gemm shader's 4x4 register blocks per invocation along the pixels (1 or 2); along the
  // channels it is always 1 (a 128-channel tile lost on every shape we measured).
  int gemm_pixel_blocks = 1;
  int gemm_batched = 0;    // 1: the Winograd kernel's 16 plain GEMMs instead of im2col
  int winograd_stage = 0;  // conv2d_winograd.comp: 0 weights, 1 input, 2 output transform
};

std::string program_source(std::string_view kernel, const variant& v) {
  std::string source = fmt::format(
      "#version 450 core\n"
      "#define TILED_OUT_CHANNELS {}\n#define TILED_IN_CHANNELS {}\n"
      "#define TILED_MAX_KERNEL {}\n#define TILED_MAX_STRIDE {}\n"
      "#define GEMM_HM {}\n#define GEMM_HN {}\n#define GEMM_BATCHED {}\n#define WINOGRAD_STAGE {}\n"
      "#define WINOGRAD_TILES_W {}\n#define WINOGRAD_TILES_H {}\n#define WINOGRAD_OUT_CHANNELS {}\n"
      "#define WINOGRAD_IN_CHANNELS {}\n",
      tiled_params::out_channels, tiled_params::in_channels, tiled_params::max_kernel, tiled_params::max_stride, 1,
      v.gemm_pixel_blocks, v.gemm_batched, v.winograd_stage, winograd_one_dispatch_params::tiles_w,
      winograd_one_dispatch_params::tiles_h, winograd_one_dispatch_params::out_channels,
      winograd_one_dispatch_params::in_channels);
  source += detail::conv2d_common_glsl;
  source += "\n#line 1\n";  // compiler messages count lines of the kernel file
  source += kernel;
  return source;
}

// The mapped strategies of the matrix's list for `use`, best first: what zero-copy may use.
std::vector<gpu::strategy> mapped_candidates(const gpu::capabilities& caps, gpu::usage use) {
  std::vector<gpu::strategy> out;
  for (const gpu::strategy s : gpu::candidates(caps, use)) {
    if (gpu::is_mapped(s)) out.push_back(s);
  }
  return out;
}

// A buffer on the zero-copy path: the first mapped strategy that can be created.
gpu::result<gpu::unified_buffer> create_mapped(gpu::context& ctx, std::uint64_t bytes, gpu::usage use,
                                               const std::string& tag) {
  gpu::buffer_error last{
      error_kind::unsupported,
      fmt::format("no mapped strategy is supported for {} here ({}{})", gpu::to_string(use), ctx.caps().renderer,
                  ctx.caps().masked.empty() ? "" : ", masked: " + ctx.caps().masked)};
  for (const gpu::strategy s : mapped_candidates(ctx.caps(), use)) {
    auto made = gpu::unified_buffer::create(
        ctx, {.size = bytes, .use = use, .preferred = s, .allow_fallback = false, .tag = tag});
    if (made && made->is_mapped()) return std::move(*made);
    if (!made) {
      last = made.error();
      if (last.kind == error_kind::out_of_memory) break;
    }
  }
  last.message = fmt::format("zero-copy buffer '{}': {}", tag, last.message);
  return std::unexpected(last);
}

gpu::result<gpu::unified_buffer> create_io(gpu::context& ctx, conv2d_path path, std::uint64_t bytes, gpu::usage use,
                                           const std::string& tag) {
  if (path == conv2d_path::zero_copy) return create_mapped(ctx, bytes, use, tag);
  return gpu::unified_buffer::create(
      ctx, {.size = bytes, .use = use, .preferred = gpu::strategy::staging_copy, .allow_fallback = false, .tag = tag});
}

std::span<float> floats(const gpu::unified_buffer& buffer, std::uint64_t count) {
  return {reinterpret_cast<float*>(buffer.cpu_view().data()), static_cast<std::size_t>(count)};
}

// The Winograd kernel's output tiles: 2x2 pixels each, over every image.
std::uint64_t winograd_tiles(const conv2d_shape& sh) {
  return std::uint64_t{sh.n} * ceil_div(sh.p(), 2) * ceil_div(sh.q(), 2);
}

// Every kernel's uniforms (conv2d_common.glsl), from the shape.
void set_uniforms(const gpu::compute_program& program, const conv2d_shape& sh) {
  const GLuint name = program.gl_name();
  glProgramUniform4i(name, 0, static_cast<GLint>(sh.n), static_cast<GLint>(sh.c), static_cast<GLint>(sh.h),
                     static_cast<GLint>(sh.w));
  glProgramUniform4i(name, 1, static_cast<GLint>(sh.k), static_cast<GLint>(sh.p()), static_cast<GLint>(sh.q()),
                     static_cast<GLint>(sh.groups));
  glProgramUniform4i(name, 2, static_cast<GLint>(sh.r), static_cast<GLint>(sh.s), sh.bias ? 1 : 0, 0);
  glProgramUniform4i(name, 3, static_cast<GLint>(sh.stride_h), static_cast<GLint>(sh.stride_w),
                     static_cast<GLint>(sh.pad_h), static_cast<GLint>(sh.pad_w));
  glProgramUniform4i(name, 4, static_cast<GLint>(sh.dilation_h), static_cast<GLint>(sh.dilation_w), 0, 0);
}

bool aligned_64(const gpu::unified_buffer& buffer) {
  return std::bit_cast<std::uintptr_t>(buffer.cpu_view().data()) % 64 == 0;
}

}  // namespace

std::string_view to_string(conv2d_path path) noexcept {
  return path == conv2d_path::zero_copy ? "zero-copy" : "staging";
}

std::string_view to_string(conv2d_kernel kernel) noexcept {
  switch (kernel) {
    case conv2d_kernel::automatic: return "automatic";
    case conv2d_kernel::direct: return "direct";
    case conv2d_kernel::tiled: return "tiled";
    case conv2d_kernel::gemm: return "gemm";
    case conv2d_kernel::gemm_wide: return "gemm_wide";
    case conv2d_kernel::winograd: return "winograd";
  }
  return "?";
}

gpu::result<conv2d_path> parse_conv2d_path(std::string_view text) {
  if (text == "zero-copy" || text == "zero_copy") return conv2d_path::zero_copy;
  if (text == "staging") return conv2d_path::staging;
  return make_error(error_kind::validation, fmt::format("path '{}': use zero-copy or staging", text));
}

gpu::result<conv2d_kernel> parse_conv2d_kernel(std::string_view text) {
  if (text == "auto" || text == "automatic") return conv2d_kernel::automatic;
  for (const conv2d_kernel k : {conv2d_kernel::direct, conv2d_kernel::tiled, conv2d_kernel::gemm,
                                conv2d_kernel::gemm_wide, conv2d_kernel::winograd}) {
    if (text == to_string(k)) return k;
  }
  return make_error(error_kind::validation,
                    fmt::format("kernel '{}': use auto, direct, tiled, gemm, gemm_wide or winograd", text));
}

std::optional<std::string> zero_copy_unavailable(const gpu::capabilities& caps) {
  for (const gpu::usage use : {gpu::usage::stream_to_gpu, gpu::usage::gpu_to_cpu}) {
    const gpu::strategy chosen = gpu::choose_strategy(caps, use);
    if (!gpu::is_mapped(chosen)) {
      return fmt::format("zero-copy needs a mapped strategy; the decision matrix picks {} for {} here ({}{})",
                         gpu::to_string(chosen), gpu::to_string(use), caps.renderer,
                         caps.masked.empty() ? "" : ", masked: " + caps.masked);
    }
  }
  return std::nullopt;
}

conv2d_path available_path(const gpu::capabilities& caps, conv2d_path wanted) {
  return wanted == conv2d_path::zero_copy && zero_copy_unavailable(caps) ? conv2d_path::staging : wanted;
}

// --- conv2d_kernels -------------------------------------------------------------------------

gpu::result<std::shared_ptr<const conv2d_kernels>> conv2d_kernels::create(gpu::context& ctx) {
  // Compiled once per context: every session, scenario and benchmark on it shares the programs.
  constexpr std::string_view cache_key = "gpusoak.kernels.conv2d";
  if (auto cached = ctx.find_cached(cache_key)) {
    return std::static_pointer_cast<const conv2d_kernels>(cached);
  }
  auto kernels = std::make_shared<conv2d_kernels>();
  struct program_spec {
    gpu::compute_program* program;
    const char* file;
    std::string_view text;
    variant defines;
  };
  // The Winograd GEMM has gemm_wide's 64x128 tiles: T (its "pixels") is N P Q / 4, thousands of
  // tiles on the shapes it is for, and its reduction (C) is short, so wide tiles halve the
  // re-reads of U without leaving the GPU short of groups.
  const program_spec programs[] = {
      {&kernels->direct_, "conv2d_direct.comp", detail::conv2d_direct_comp, {}},
      {&kernels->tiled_, "conv2d_tiled.comp", detail::conv2d_tiled_comp, {}},
      {&kernels->gemm_, "conv2d_gemm.comp", detail::conv2d_gemm_comp, {}},
      {&kernels->gemm_wide_, "conv2d_gemm.comp (wide)", detail::conv2d_gemm_comp, {.gemm_pixel_blocks = 2}},
      {&kernels->winograd_weights_,
       "conv2d_winograd.comp (weights)",
       detail::conv2d_winograd_comp,
       {.winograd_stage = 0}},
      {&kernels->winograd_input_, "conv2d_winograd.comp (input)", detail::conv2d_winograd_comp, {.winograd_stage = 1}},
      {&kernels->winograd_gemm_,
       "conv2d_gemm.comp (batched)",
       detail::conv2d_gemm_comp,
       {.gemm_pixel_blocks = 2, .gemm_batched = 1}},
      {&kernels->winograd_output_,
       "conv2d_winograd.comp (output)",
       detail::conv2d_winograd_comp,
       {.winograd_stage = 2}},
      {&kernels->winograd_one_dispatch_,
       "conv2d_winograd_one_dispatch.comp",
       detail::conv2d_winograd_one_dispatch_comp,
       {}},
      {&kernels->bus_copy_, "conv2d_bus_copy.comp", detail::conv2d_bus_copy_comp, {}}};
  for (const auto& [program, file, text, defines] : programs) {
    auto made = gpu::compute_program::create(ctx, program_source(text, defines));
    if (!made) {
      return make_error(made.error().kind, fmt::format("{}: {}", file, made.error().message));
    }
    *program = std::move(*made);
  }
  std::shared_ptr<const conv2d_kernels> made(std::move(kernels));
  ctx.store_cached(std::string(cache_key), made);
  return made;
}

gpu::result<void> conv2d_kernels::supports(conv2d_kernel kernel, const conv2d_shape& shape,
                                           const gpu::capabilities& caps) {
  auto plan = detail::plan_kernel(kernel, shape, detail::tuning_for(caps), false, caps.quirk.max_loop_iterations);
  if (!plan) return std::unexpected(plan.error());
  return {};
}

conv2d_kernel conv2d_kernels::pick(const conv2d_shape& shape, const gpu::capabilities& caps) {
  return detail::choose_kernel(shape, detail::tuning_for(caps), caps.quirk.max_loop_iterations);
}

const gpu::compute_program& conv2d_kernels::program(conv2d_kernel kernel) const noexcept {
  switch (kernel) {
    case conv2d_kernel::tiled: return tiled_;
    case conv2d_kernel::gemm: return gemm_;
    case conv2d_kernel::gemm_wide: return gemm_wide_;
    case conv2d_kernel::winograd: return winograd_gemm_;
    default: return direct_;
  }
}

// --- conv2d_session -------------------------------------------------------------------------

conv2d_session::conv2d_session(conv2d_session&&) noexcept = default;
conv2d_session& conv2d_session::operator=(conv2d_session&&) noexcept = default;
conv2d_session::~conv2d_session() = default;

gpu::result<conv2d_session> conv2d_session::create(gpu::context& ctx, std::shared_ptr<const conv2d_kernels> kernels,
                                                   const conv2d_shape& shape, const session_options& options) {
  ctx.check_thread();
  if (auto valid = shape.validate(); !valid) return std::unexpected(valid.error());
  if (!kernels) return make_error(error_kind::validation, "conv2d session: kernels is null");
  if (options.pipeline_depth < 1) {
    return make_error(error_kind::validation, "pipeline_depth 0: a session needs at least 1 slot");
  }
  conv2d_session session;
  session.ctx_ = &ctx;
  session.kernels_ = std::move(kernels);
  session.shape_ = shape;
  session.path_ = options.path;
  const bool over_bus = options.input_over_bus.value_or(conv2d_kernels::input_over_bus(ctx.caps(), options.path));
  auto planned = detail::plan_kernel(options.kernel, shape, detail::tuning_for(ctx.caps()), over_bus,
                                     ctx.caps().quirk.max_loop_iterations);
  if (!planned) return std::unexpected(planned.error());
  const detail::kernel_plan& plan = *planned;
  session.kernel_ = plan.kernel;
  session.one_dispatch_ = plan.one_dispatch;
  session.passes_ = plan.split.passes;
  session.timeout_ = options.timeout;

  const auto weights_desc = [&](std::uint64_t count, const char* what) {
    return gpu::buffer_desc{.size = count * sizeof(float),
                            .use = gpu::usage::gpu_reads_many,
                            .tag = fmt::format("{}.{}", options.tag, what)};
  };
  auto weights = gpu::unified_buffer::create(ctx, weights_desc(shape.weight_elements(), "weights"));
  if (!weights) return std::unexpected(weights.error());
  session.weights_ = std::move(*weights);
  if (shape.bias) {
    auto bias = gpu::unified_buffer::create(ctx, weights_desc(shape.bias_elements(), "bias"));
    if (!bias) return std::unexpected(bias.error());
    session.bias_ = std::move(*bias);
  }
  if (session.kernel_ == conv2d_kernel::winograd) {
    // GPU-only: the CPU never sees the transforms, so no host shadow (see scratch_buffer.hpp).
    const std::uint64_t tiles = winograd_tiles(shape);
    const auto scratch = [&](std::uint64_t floats, const char* what) {
      return gpu::scratch_buffer::create(ctx, 16 * floats * sizeof(float), fmt::format("{}.{}", options.tag, what));
    };
    auto u = scratch(std::uint64_t{shape.k} * shape.c, "winograd_u");
    if (!u) return std::unexpected(u.error());
    session.winograd_u_ = std::move(*u);
    if (!plan.one_dispatch) {  // one dispatch keeps V and M on chip
      auto v = scratch(shape.c * tiles, "winograd_v");
      if (!v) return std::unexpected(v.error());
      auto m = scratch(shape.k * tiles, "winograd_m");
      if (!m) return std::unexpected(m.error());
      session.winograd_v_ = std::move(*v);
      session.winograd_m_ = std::move(*m);
    }
  }
  if (plan.bus_copies) {
    auto in = gpu::scratch_buffer::create(ctx, shape.input_elements() * sizeof(float),
                                          fmt::format("{}.device_input", options.tag));
    if (!in) return std::unexpected(in.error());
    auto out = gpu::scratch_buffer::create(ctx, shape.output_elements() * sizeof(float),
                                           fmt::format("{}.device_output", options.tag));
    if (!out) return std::unexpected(out.error());
    session.device_input_ = std::move(*in);
    session.device_output_ = std::move(*out);
  }
  for (std::uint32_t i = 0; i < options.pipeline_depth; ++i) {
    auto input = create_io(ctx, options.path, shape.input_elements() * sizeof(float), gpu::usage::stream_to_gpu,
                           fmt::format("{}.input{}", options.tag, i));
    if (!input) return std::unexpected(input.error());
    auto output = create_io(ctx, options.path, shape.output_elements() * sizeof(float), gpu::usage::gpu_to_cpu,
                            fmt::format("{}.output{}", options.tag, i));
    if (!output) return std::unexpected(output.error());
    if (!aligned_64(*input) || !aligned_64(*output)) {
      return make_error(error_kind::internal, fmt::format("slot {}: CPU view not 64-byte aligned ({} / {})", i,
                                                          static_cast<const void*>(input->cpu_view().data()),
                                                          static_cast<const void*>(output->cpu_view().data())));
    }
    session.slots_.push_back(slot{.input = std::move(*input),
                                  .output = std::move(*output),
                                  .done = {},
                                  .timer = options.time_kernel ? gpu::gpu_timer::create() : gpu::gpu_timer{}});
  }
  return session;
}

gpu::strategy conv2d_session::input_strategy() const noexcept {
  return slots_.front().input.strategy();
}
gpu::strategy conv2d_session::output_strategy() const noexcept {
  return slots_.front().output.strategy();
}
gpu::strategy conv2d_session::weight_strategy() const noexcept {
  return weights_.strategy();
}

std::span<float> conv2d_session::weights() noexcept {
  return floats(weights_, shape_.weight_elements());
}
std::span<float> conv2d_session::bias() noexcept {
  return shape_.bias ? floats(bias_, shape_.bias_elements()) : std::span<float>{};
}

gpu::result<void> conv2d_session::commit_weights() {
  if (auto done = weights_.make_visible_to_gpu(); !done) return done;
  if (shape_.bias) {
    if (auto done = bias_.make_visible_to_gpu(); !done) return done;
  }
  if (kernel_ == conv2d_kernel::winograd) {
    // U = G g G^T, once per commit: the weights' CPU view is write-only, so on the GPU.
    const gpu::compute_program& program = kernels_->winograd_weights_;
    set_uniforms(program, shape_);
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 1, weights_.gl_name());
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 3, winograd_u_.gl_name());
    program.use();
    glDispatchCompute(clamp_groups(ceil_div(std::uint64_t{shape_.k} * shape_.c, program.local_size()[0])), 1, 1);
    // Before the batched GEMM of any later conv reads U.
    glMemoryBarrier(GL_SHADER_STORAGE_BARRIER_BIT);
  }
  return {};
}

gpu::result<void> conv2d_session::poison_outputs() {
  if (in_flight_ > 0) {
    return make_error(error_kind::validation,
                      fmt::format("poison_outputs with {} slot(s) in flight: finish() them first", in_flight_));
  }
  for (slot& s : slots_) {
    std::ranges::fill(floats(s.output, shape_.output_elements()), std::numeric_limits<float>::quiet_NaN());
    if (auto visible = s.output.make_visible_to_gpu(); !visible) return visible;
  }
  return {};
}

std::span<float> conv2d_session::input() noexcept {
  return floats(slots_[next_].input, shape_.input_elements());
}

gpu::result<void> conv2d_session::write_input(std::span<const float> values) {
  if (values.size() != shape_.input_elements()) {
    return make_error(error_kind::validation,
                      fmt::format("write_input: {} floats for an input of {}", values.size(), shape_.input_elements()));
  }
  return slots_[next_].input.write(0, std::as_bytes(values));
}

gpu::result<std::span<const float>> conv2d_session::run() {
  if (auto begun = begin(); !begun) return std::unexpected(begun.error());
  if (auto submitted = submit(); !submitted) return std::unexpected(submitted.error());
  return finish();
}

gpu::result<std::span<float>> conv2d_session::begin() {
  if (begun_) {
    return make_error(error_kind::validation, fmt::format("begin: slot {} is already begun; submit() it first", next_));
  }
  if (in_flight_ == depth()) {
    return make_error(error_kind::validation,
                      fmt::format("begin: all {} slots are in flight (the ring is full); finish() one first", depth()));
  }
  begun_ = true;
  return input();
}

gpu::result<void> conv2d_session::submit() {
  if (!begun_) return make_error(error_kind::validation, "submit: no slot is begun; call begin() first");
  slot& s = slots_[next_];
  // Zero-copy: coherent maps need nothing, non-coherent ones a flush. Staging: the upload.
  if (auto visible = s.input.make_visible_to_gpu(); !visible) return visible;
  dispatch(s, true);
  s.done = gpu::fence::insert(*ctx_);
  begun_ = false;
  next_ = (next_ + 1) % depth();
  ++in_flight_;
  return {};
}

gpu::result<std::span<const float>> conv2d_session::finish() {
  if (in_flight_ == 0) return make_error(error_kind::validation, "finish: no slot is in flight");
  slot& s = slots_[oldest_];
  if (auto waited = s.done.wait(timeout_); !waited) return std::unexpected(waited.error());
  kernel_time_ = s.timer.read();
  // Mapped: dispatch() put the client-mapped barrier before the slot's fence, just waited on,
  // so a second fence (make_visible_to_cpu) would only cost another round trip. Staging: the
  // readback copy.
  if (!s.output.is_mapped()) {
    if (auto visible = s.output.make_visible_to_cpu(0, 0, timeout_); !visible) return std::unexpected(visible.error());
  }
  oldest_ = (oldest_ + 1) % depth();
  --in_flight_;
  return std::span<const float>(floats(s.output, shape_.output_elements()));
}

gpu::result<std::vector<std::chrono::nanoseconds>> conv2d_session::time_dispatches(int count) {
  if (in_flight_ > 0 || begun_ || !kernel_time_) {
    return make_error(error_kind::validation,
                      "time_dispatches: needs an idle session whose last run was timed (time_kernel, then run())");
  }
  const slot& s = slots_[(oldest_ + depth() - 1) % depth()];
  std::vector<gpu::gpu_timer> timers;
  for (int i = 0; i < count; ++i) {
    timers.push_back(gpu::gpu_timer::create());
    timers.back().begin();
    dispatch(s, false);
    timers.back().end();
  }
  if (auto waited = gpu::fence::insert(*ctx_).wait(timeout_); !waited) return std::unexpected(waited.error());
  std::vector<std::chrono::nanoseconds> times;
  for (const gpu::gpu_timer& timer : timers) times.push_back(timer.read().value_or(std::chrono::nanoseconds{0}));
  return times;
}

void conv2d_session::bus_copy(unsigned from, unsigned to, std::uint64_t floats) const {
  const gpu::compute_program& copy = kernels_->bus_copy_;
  glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 0, from);
  glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 3, to);
  glProgramUniform1i(copy.gl_name(), 5, static_cast<GLint>(floats));
  copy.use();
  // One 16-byte load an invocation, up to 1,024 groups (the read shader's cap); past that the
  // grid-stride loop takes over.
  glDispatchCompute(static_cast<GLuint>(std::clamp<std::uint64_t>(ceil_div(floats, 4 * copy.local_size()[0]), 1, 1024)),
                    1, 1);
}

void conv2d_session::dispatch_winograd(unsigned input_name, unsigned output_name) const {
  const conv2d_shape& sh = shape_;
  const auto run = [&](const gpu::compute_program& program, std::uint64_t groups_x, std::uint64_t groups_y,
                       std::uint64_t groups_z) {
    set_uniforms(program, sh);
    program.use();
    glDispatchCompute(clamp_groups(groups_x), clamp_groups(groups_y), clamp_groups(groups_z));
  };
  // The buffers take the common bindings by role (conv2d_winograd.comp's table). Every step
  // reads what the one before wrote, and the next conv overwrites the V and M this one read (the
  // slots share them): a shader-storage barrier between each pair of steps orders both, as
  // glMemoryBarrier orders all accesses before it, reads included, against those after it.
  // In one dispatch (winograd_in_one_dispatch()) nothing is written but the output: no barrier.
  if (one_dispatch_) {
    using params = winograd_one_dispatch_params;
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 0, input_name);
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 1, winograd_u_.gl_name());
    // Without bias the shader never reads binding 2; bind something valid anyway.
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 2, sh.bias ? bias_.gl_name() : winograd_u_.gl_name());
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 3, output_name);
    // x: the (image, tile block) pairs; y: blocks of output channels.
    const std::uint64_t blocks = std::uint64_t{sh.n} * ceil_div(ceil_div(sh.p(), 2), params::tiles_h) *
                                 ceil_div(ceil_div(sh.q(), 2), params::tiles_w);
    run(kernels_->winograd_one_dispatch_, blocks, ceil_div(sh.k, params::out_channels), 1);
    return;
  }
  const std::uint64_t tiles = winograd_tiles(sh);
  glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 0, input_name);
  glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 3, winograd_v_.gl_name());
  const gpu::compute_program& input = kernels_->winograd_input_;
  run(input, ceil_div(tiles, input.local_size()[0]), sh.c, 1);
  glMemoryBarrier(GL_SHADER_STORAGE_BARRIER_BIT);

  // 16 GEMMs, z picks one: 4 local.x tiles wide (twice: 64x128 tiles) by 4 local.y channels.
  glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 0, winograd_v_.gl_name());
  glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 1, winograd_u_.gl_name());
  glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 3, winograd_m_.gl_name());
  const gpu::compute_program& gemm = kernels_->winograd_gemm_;
  set_uniforms(gemm, sh);
  gemm.use();
  dispatch_passes(gemm, {ceil_div(tiles, 4 * 2 * gemm.local_size()[0]), ceil_div(sh.k, 4 * gemm.local_size()[1]), 16});
  glMemoryBarrier(GL_SHADER_STORAGE_BARRIER_BIT);

  glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 0, winograd_m_.gl_name());
  // Without bias the shader never reads binding 2; bind something valid anyway.
  glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 2, sh.bias ? bias_.gl_name() : winograd_m_.gl_name());
  glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 3, output_name);
  const gpu::compute_program& output = kernels_->winograd_output_;
  run(output, ceil_div(tiles, output.local_size()[0]), sh.k, 1);
  // No barrier after: the output's is dispatch()'s, and the next conv's first write (V) comes
  // after the barrier that followed this conv's last read of V.
}

void conv2d_session::dispatch_kernel(unsigned input_name, unsigned output_name) const {
  const conv2d_shape& sh = shape_;
  if (kernel_ == conv2d_kernel::winograd) {
    dispatch_winograd(input_name, output_name);
    return;
  }
  const gpu::compute_program& program = kernels_->program(kernel_);
  set_uniforms(program, sh);
  glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 0, input_name);
  glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 1, weights_.gl_name());
  // Without bias the shader never reads binding 2; bind something valid anyway.
  glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 2, sh.bias ? bias_.gl_name() : weights_.gl_name());
  glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 3, output_name);
  program.use();

  const std::array<std::uint32_t, 3> local = program.local_size();
  std::array<std::uint64_t, 3> groups{};
  if (kernel_ == conv2d_kernel::tiled) {
    // A group computes a local.x by local.y tile of output pixels for out_channels channels.
    groups = {ceil_div(sh.p(), local[1]) * ceil_div(sh.q(), local[0]), ceil_div(sh.k, tiled_params::out_channels),
              ceil_div(sh.n, local[2])};
  } else if (kernel_ == conv2d_kernel::gemm || kernel_ == conv2d_kernel::gemm_wide) {
    // A group computes 4 * local.x pixels (over all images), twice that for the wide one, by
    // 4 * local.y output channels.
    const std::uint64_t pixel_blocks = kernel_ == conv2d_kernel::gemm_wide ? 2 : 1;
    groups = {ceil_div(std::uint64_t{sh.n} * sh.p() * sh.q(), 4 * local[0] * pixel_blocks),
              ceil_div(sh.k, 4 * local[1]), 1};
  } else {
    groups = {ceil_div(std::uint64_t{sh.p()} * sh.q(), local[0]), ceil_div(sh.k, local[1]), ceil_div(sh.n, local[2])};
  }
  dispatch_passes(program, groups);
}

void conv2d_session::dispatch_passes(const gpu::compute_program& program,
                                     const std::array<std::uint64_t, 3>& groups) const {
  const GLuint name = program.gl_name();
  for (std::size_t i = 0; i < passes_.size(); ++i) {
    const detail::reduction_pass& pass = passes_[i];
    glProgramUniform4i(name, 6, static_cast<GLint>(pass.begin), static_cast<GLint>(pass.end), i == 0 ? 0 : 1, 0);
    if (kernel_ == conv2d_kernel::direct) {
      glProgramUniform4i(name, 7, static_cast<GLint>(pass.s_begin), static_cast<GLint>(pass.s_end), 0, 0);
    }
    // Each pass reads the output the one before wrote.
    if (i > 0) glMemoryBarrier(GL_SHADER_STORAGE_BARRIER_BIT);
    glDispatchCompute(clamp_groups(groups[0]), clamp_groups(groups[1]), clamp_groups(groups[2]));
  }
}

void conv2d_session::dispatch(const slot& s, bool timed) const {
  // On a bus (copies_over_bus()): the slot's input and output cross it once each, in whole
  // lines, and the kernel works in device memory between the two copies.
  const bool over_bus = copies_over_bus();
  const unsigned input_name = over_bus ? device_input_.gl_name() : s.input.gl_name();
  const unsigned output_name = over_bus ? device_output_.gl_name() : s.output.gl_name();
  if (timed) s.timer.begin();
  if (over_bus) {
    bus_copy(s.input.gl_name(), input_name, shape_.input_elements());
    glMemoryBarrier(GL_SHADER_STORAGE_BARRIER_BIT);
  }
  dispatch_kernel(input_name, output_name);
  if (over_bus) {
    // device_output_ is rewritten only by the next conv's kernel, after this copy and its barrier.
    glMemoryBarrier(GL_SHADER_STORAGE_BARRIER_BIT);
    bus_copy(output_name, s.output.gl_name(), shape_.output_elements());
  }
  if (timed) s.timer.end();
  // Shader writes -> later reads through a persistent map (and, for staging, the API readback).
  glMemoryBarrier(GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT | GL_BUFFER_UPDATE_BARRIER_BIT);
}

}  // namespace gpusoak::kernels
