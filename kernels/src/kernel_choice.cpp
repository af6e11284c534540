#include "kernel_choice.hpp"

namespace gpusoak::kernels::detail {
namespace {

std::uint64_t input_bytes(const conv2d_shape& shape) {
  return shape.input_elements() * sizeof(float);
}

std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) {
  return (a + b - 1) / b;
}

}  // namespace

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

conv2d_kernel choose_kernel(const conv2d_shape& shape, const kernel_tuning& tuning) noexcept {
  // Only direct runs grouped convolutions.
  if (shape.groups != 1) return conv2d_kernel::direct;
  // winograd where it applies, with many output or input channels, or few where one dispatch runs it.
  if (conv2d_kernels::supports(conv2d_kernel::winograd, shape) &&
      (shape.k >= tuning.gemm_min_channels || shape.c >= tuning.winograd_min_in_channels ||
       (tuning.winograd_for_few_channels_in_one_dispatch && winograd_in_one_dispatch(shape, tuning)))) {
    return conv2d_kernel::winograd;
  }
  // Few output channels: tiled, where it applies.
  if (shape.k < tuning.gemm_min_channels && conv2d_kernels::supports(conv2d_kernel::tiled, shape)) {
    return conv2d_kernel::tiled;
  }
  // Else the implicit GEMM, with wide tiles where there are enough of them to fill the GPU.
  const std::uint64_t wide_tiles =
      ceil_div(std::uint64_t{shape.n} * shape.p() * shape.q(), 128) * ceil_div(shape.k, 64);
  return wide_tiles >= tuning.gemm_wide_min_tiles ? conv2d_kernel::gemm_wide : conv2d_kernel::gemm;
}

kernel_plan plan_kernel(conv2d_kernel wanted, const conv2d_shape& shape, const kernel_tuning& tuning,
                        bool input_over_bus) noexcept {
  kernel_plan plan;
  plan.kernel = wanted == conv2d_kernel::automatic ? choose_kernel(shape, tuning) : wanted;
  plan.one_dispatch = plan.kernel == conv2d_kernel::winograd && winograd_in_one_dispatch(shape, tuning);
  plan.bus_copies = input_over_bus && copies_over_bus(plan.kernel, shape, tuning);
  return plan;
}

}  // namespace gpusoak::kernels::detail
