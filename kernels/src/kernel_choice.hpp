// Which conv2d kernel runs a shape, and how it runs there: pure functions of the shape and a
// tuning table, the table chosen from the context's capabilities. No GL calls; the unit tests
// (tests/kernels/kernel_choice_test.cpp) run them without a context. docs/kernels.md gives the
// measurements behind each table and the command that reproduces them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "gpusoak/buffers/capabilities.hpp"
#include "gpusoak/kernels/conv2d.hpp"
#include "gpusoak/kernels/conv2d_shape.hpp"
#include "reduction_split.hpp"

namespace gpusoak::kernels::detail {

// The thresholds of the choice. A threshold named *_min_* applies from that value up; one named
// *_below_* applies under it.
struct kernel_tuning {
  std::string_view name;  // the table's name, for tests and logs
  // Below this many output channels a gemm tile (64 channels) is mostly idle: tiled takes the
  // shape where it applies, winograd only with enough input channels.
  std::uint32_t gemm_min_channels;
  // From this many input channels winograd takes 3x3 stride-1 shapes below gemm_min_channels too.
  std::uint32_t winograd_min_in_channels;
  // Whether winograd also takes the shapes below both channel counts when it runs them in one
  // dispatch (winograd_in_one_dispatch).
  bool winograd_for_few_channels_in_one_dispatch;
  // gemm_wide from this many of its 64x128 output tiles (ceil(N P Q / 128) ceil(K / 64)), else gemm.
  std::uint64_t gemm_wide_min_tiles;
  // winograd runs its three steps in one dispatch below this many bytes of input and with at
  // most winograd_one_dispatch_max_in_channels input channels.
  std::uint64_t winograd_one_dispatch_below_bytes;
  std::uint32_t winograd_one_dispatch_max_in_channels;
  // Over a bus, tiled and winograd run between two bus copies from this many bytes of input
  // (below it they read and write host memory in place); every other kernel always does.
  std::uint64_t tiled_bus_copy_min_bytes;
  std::uint64_t winograd_bus_copy_min_bytes;
};

// NVIDIA discrete GPUs: every threshold measured on an H100 (docs/kernels.md).
inline constexpr kernel_tuning nvidia_discrete_tuning{
    .name = "nvidia_discrete",
    .gemm_min_channels = 32,
    .winograd_min_in_channels = 16,
    .winograd_for_few_channels_in_one_dispatch = true,
    .gemm_wide_min_tiles = 256,
    .winograd_one_dispatch_below_bytes = std::uint64_t{2} << 20,
    .winograd_one_dispatch_max_in_channels = 64,
    .tiled_bus_copy_min_bytes = std::uint64_t{64} << 10,
    .winograd_bus_copy_min_bytes = std::uint64_t{2} << 20,
};

// Other discrete GPUs (AMD, Intel Arc, unknown vendors): none measured. The H100's table with two
// changes. The channel and tile thresholds are the ones every GPU already ran; winograd does not take the
// few-channel shapes (measured only on the H100, and 4x slower than tiled on llvmpipe); every
// kernel runs between bus copies: in place, the H100 lost on every large input (up to 14x) and
// gained at most 22% on small ones, so the copies bound the worst case on an unmeasured bus.
inline constexpr kernel_tuning other_discrete_tuning = [] {
  kernel_tuning t = nvidia_discrete_tuning;
  t.name = "other_discrete";
  t.winograd_for_few_channels_in_one_dispatch = false;
  t.tiled_bus_copy_min_bytes = 0;
  t.winograd_bus_copy_min_bytes = 0;
  return t;
}();

// UMA devices (integrated GPUs, software renderers such as llvmpipe): the H100's table without
// the few-channel winograd (as other_discrete), bus thresholds kept. They have no bus, so these matter only where a
// caller forces the bus path (session_options::input_over_bus, the tests), which then reaches both the in-place and the
// copying variant.
inline constexpr kernel_tuning uma_tuning = [] {
  kernel_tuning t = nvidia_discrete_tuning;
  t.name = "uma";
  t.winograd_for_few_channels_in_one_dispatch = false;
  return t;
}();

// The table for a context: uma_tuning on a UMA device or a software renderer, else
// nvidia_discrete_tuning for NVIDIA and other_discrete_tuning for every other vendor.
[[nodiscard]] const kernel_tuning& tuning_for(const gpu::capabilities& caps) noexcept;

// The kernel `automatic` runs on `shape`; never automatic, always one that supports the shape.
// gemm_wide where the shape has enough of its 64x128 output tiles to fill the GPU, else gemm.
[[nodiscard]] conv2d_kernel gemm_for(const conv2d_shape& shape, const kernel_tuning& tuning) noexcept;

// Why `kernel` cannot run `shape` by its design alone (groups, kernel size, stride, ...), or
// nullopt when it can. No driver limits: conv2d_kernels::supports adds those.
[[nodiscard]] std::optional<std::string> design_refusal(conv2d_kernel kernel, const conv2d_shape& shape);

// The kernel the tuning prefers for `shape` among those that can run it within the driver's loop
// cap (max_loop_iterations: capabilities::quirk; empty where none is known). When none can,
// direct, whose session then refuses the shape with the reason.
[[nodiscard]] conv2d_kernel choose_kernel(const conv2d_shape& shape, const kernel_tuning& tuning,
                                          std::optional<std::uint32_t> max_loop_iterations = std::nullopt);

[[nodiscard]] bool winograd_in_one_dispatch(const conv2d_shape& shape, const kernel_tuning& tuning) noexcept;

// Whether `kernel` on `shape`, its input read over a bus, runs in device memory between two bus
// copies (conv2d_bus_copy.comp) instead of reading and writing host memory in place.
[[nodiscard]] bool copies_over_bus(conv2d_kernel kernel, const conv2d_shape& shape,
                                   const kernel_tuning& tuning) noexcept;

// How a session runs: the kernel and its two variants.
struct kernel_plan {
  conv2d_kernel kernel = conv2d_kernel::direct;  // never automatic
  bool one_dispatch = false;                     // winograd only: winograd_in_one_dispatch, within the cap
  bool bus_copies = false;                       // input over a bus and copies_over_bus
  reduction_split split;                         // the passes of the kernel's reduction
};

// How `wanted` (automatic: choose_kernel) runs `shape`; `unsupported` or `validation` with the
// reason when that kernel cannot run it here.
[[nodiscard]] gpu::result<kernel_plan> plan_kernel(conv2d_kernel wanted, const conv2d_shape& shape,
                                                   const kernel_tuning& tuning, bool input_over_bus,
                                                   std::optional<std::uint32_t> max_loop_iterations = std::nullopt);

}  // namespace gpusoak::kernels::detail
