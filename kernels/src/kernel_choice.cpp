#include "kernel_choice.hpp"

#include <fmt/format.h>

namespace gpusoak::kernels::detail {
namespace {

std::uint64_t input_bytes(const conv2d_shape& shape) {
  return shape.input_elements() * sizeof(float);
}

std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) {
  return (a + b - 1) / b;
}

}  // namespace

// gemm_wide on problems with enough of its 64x128 tiles to fill the GPU, else gemm.
conv2d_kernel gemm_for(const conv2d_shape& shape, const kernel_tuning& tuning) noexcept {
  const std::uint64_t wide_tiles =
      ceil_div(std::uint64_t{shape.n} * shape.p() * shape.q(), 128) * ceil_div(shape.k, 64);
  return wide_tiles >= tuning.gemm_wide_min_tiles ? conv2d_kernel::gemm_wide : conv2d_kernel::gemm;
}

const kernel_tuning& tuning_for(const gpu::capabilities& caps) noexcept {
  // A software renderer is the CPU: no bus, whatever uma says.
  if (caps.uma || caps.vendor_kind == gpu::vendor_class::mesa_software) return uma_tuning;
  if (caps.vendor_kind == gpu::vendor_class::nvidia) return nvidia_discrete_tuning;
  return other_discrete_tuning;
}

bool winograd_in_one_dispatch(const conv2d_shape& shape, const kernel_tuning& tuning) noexcept {
  return input_bytes(shape) < tuning.winograd_one_dispatch_below_bytes &&
         shape.c <= tuning.winograd_one_dispatch_max_in_channels;
}

bool copies_over_bus(conv2d_kernel kernel, const conv2d_shape& shape, const kernel_tuning& tuning) noexcept {
  if (kernel == conv2d_kernel::tiled) return input_bytes(shape) >= tuning.tiled_bus_copy_min_bytes;
  if (kernel == conv2d_kernel::winograd) return input_bytes(shape) >= tuning.winograd_bus_copy_min_bytes;
  return true;
}

std::optional<std::string> design_refusal(conv2d_kernel kernel, const conv2d_shape& shape) {
  const bool ungrouped = shape.groups == 1;
  const bool undilated = shape.dilation_h == 1 && shape.dilation_w == 1;
  switch (kernel) {
    case conv2d_kernel::automatic:
    case conv2d_kernel::direct: return std::nullopt;
    case conv2d_kernel::tiled:
      if (ungrouped && undilated && shape.r == shape.s && (shape.r == 1 || shape.r == 3) &&
          shape.stride_h == shape.stride_w && shape.stride_h <= tiled_params::max_stride) {
        return std::nullopt;
      }
      return fmt::format("tiled needs groups 1, dilation 1, a 1x1 or 3x3 filter and equal strides up to {}",
                         tiled_params::max_stride);
    case conv2d_kernel::gemm:
    case conv2d_kernel::gemm_wide:
      if (ungrouped) return std::nullopt;
      return fmt::format("{} needs groups 1 (direct runs grouped shapes)", to_string(kernel));
    case conv2d_kernel::winograd: {
      if (!ungrouped || !undilated || shape.r != 3 || shape.s != 3 || shape.stride_h != 1 || shape.stride_w != 1) {
        return std::string("winograd needs groups 1, 3x3, stride 1, dilation 1");
      }
      // The scratch is indexed with 32-bit ints like every buffer (conv2d_shape::validate): V
      // (16 C T) or M (16 K T) is about 4x the input or output, and U (16 K C) 16/9 of the
      // weights, so each can pass the limit alone.
      const std::uint64_t tiles = std::uint64_t{shape.n} * ceil_div(shape.p(), 2) * ceil_div(shape.q(), 2);
      const std::uint64_t scratch =
          16 * std::max(std::uint64_t{std::max(shape.c, shape.k)} * tiles, std::uint64_t{shape.k} * shape.c);
      if (scratch > shader_index_limit) {
        return fmt::format("winograd's scratch would hold {} floats, past 32-bit indexing ({})", scratch,
                           shader_index_limit);
      }
      return std::nullopt;
    }
  }
  return std::string("unknown kernel");
}

namespace {

// The tuning's preference for `shape`, before driver limits: the first of these that applies.
conv2d_kernel preferred_kernel(const conv2d_shape& shape, const kernel_tuning& tuning) noexcept {
  // Only direct runs grouped convolutions.
  if (shape.groups != 1) return conv2d_kernel::direct;
  // winograd where it applies, with many output or input channels, or few where one dispatch runs it.
  if (!design_refusal(conv2d_kernel::winograd, shape) &&
      (shape.k >= tuning.gemm_min_channels || shape.c >= tuning.winograd_min_in_channels ||
       (tuning.winograd_for_few_channels_in_one_dispatch && winograd_in_one_dispatch(shape, tuning)))) {
    return conv2d_kernel::winograd;
  }
  // Few output channels: tiled, where it applies.
  if (shape.k < tuning.gemm_min_channels && !design_refusal(conv2d_kernel::tiled, shape)) {
    return conv2d_kernel::tiled;
  }
  return gemm_for(shape, tuning);
}

}  // namespace

conv2d_kernel choose_kernel(const conv2d_shape& shape, const kernel_tuning& tuning,
                            std::optional<std::uint32_t> max_loop_iterations) {
  const conv2d_kernel preferred = preferred_kernel(shape, tuning);
  if (!max_loop_iterations) return preferred;
  // Where the preferred kernel does not fit the cap, the next that does: the GEMMs split any
  // reduction, direct is the last resort.
  const conv2d_kernel fallbacks[] = {preferred, gemm_for(shape, tuning), conv2d_kernel::gemm, conv2d_kernel::direct};
  for (const conv2d_kernel kernel : fallbacks) {
    if (design_refusal(kernel, shape)) continue;
    if (plan_kernel(kernel, shape, tuning, false, max_loop_iterations)) return kernel;
  }
  return conv2d_kernel::direct;
}

gpu::result<kernel_plan> plan_kernel(conv2d_kernel wanted, const conv2d_shape& shape, const kernel_tuning& tuning,
                                     bool input_over_bus, std::optional<std::uint32_t> max_loop_iterations) {
  kernel_plan plan;
  plan.kernel = wanted == conv2d_kernel::automatic ? choose_kernel(shape, tuning, max_loop_iterations) : wanted;
  if (auto refused = design_refusal(plan.kernel, shape)) {
    return gpu::make_error(
        gpu::error_kind::validation,
        fmt::format("kernel {} cannot run shape '{}': {}", to_string(plan.kernel), shape.to_string(), *refused));
  }
  plan.one_dispatch = plan.kernel == conv2d_kernel::winograd && winograd_in_one_dispatch(shape, tuning);
  auto split = split_reduction(plan.kernel, shape, plan.one_dispatch, max_loop_iterations);
  if (!split && plan.one_dispatch) {
    // One dispatch's loop over the channels does not split; three dispatches may fit.
    plan.one_dispatch = false;
    split = split_reduction(plan.kernel, shape, false, max_loop_iterations);
  }
  if (!split) return std::unexpected(split.error());
  plan.split = std::move(*split);
  plan.bus_copies = input_over_bus && copies_over_bus(plan.kernel, shape, tuning);
  return plan;
}

}  // namespace gpusoak::kernels::detail
