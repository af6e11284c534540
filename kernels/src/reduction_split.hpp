// How a conv2d kernel's reduction is cut into dispatches ("passes") so that no shader invocation
// runs more loop iterations than the driver allows (capabilities::quirk.max_loop_iterations:
// past it llvmpipe silently breaks out of every loop, and a long sum comes back short).
//
// The count is a model of the shaders' loops, not a measurement: every loop entry costs its
// iterations plus two (llvmpipe charges one per iteration and one per exit,
// tests/buffers/loop_cap_test.cpp), every loop counts whether or not the compiler unrolls it,
// and grid-stride loops multiply it by the items one invocation takes. Passes stay within half
// the cap, for loops a compiler adds. Where even one unit of reduction per pass passes the
// budget, the kernel cannot run the shape on this driver and says why.
//
// Pass i covers units [begin, end) of the kernel's reduction, accumulated in pass order onto the
// output the first pass wrote (bias included once): a defined summation order on every driver.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "gpusoak/error.hpp"
#include "gpusoak/kernels/conv2d.hpp"
#include "gpusoak/kernels/conv2d_shape.hpp"

namespace gpusoak::kernels::detail {

// The unit a kernel's passes count in:
//   direct     filter rows (c, r) of the output's group, c * R + r; a row wider than a pass
//              alone is cut by columns, [s_begin, s_end)
//   tiled      blocks of tiled_params::in_channels input channels
//   gemm, gemm_wide, winograd (its batched GEMM)   chunks of 16 reduction elements
struct reduction_pass {
  std::uint32_t begin = 0, end = 0;
  std::uint32_t s_begin = 0, s_end = 0;  // direct only: the filter columns of each row
};

struct reduction_split {
  std::vector<reduction_pass> passes;  // in order: the first writes the output, the rest add to it
  std::uint64_t loop_iterations = 0;   // the model's count for the costliest invocation of a pass
};

// At most this many passes: past it a conv would be thousands of dispatches, and is refused.
inline constexpr std::size_t max_passes = 4096;

// The passes `kernel` (never automatic) runs `shape` in, with `one_dispatch` for winograd's
// single-dispatch form. Without a cap: one pass over everything. `unsupported` with the reason
// when the shape cannot fit the cap on this kernel. The shape must validate.
[[nodiscard]] gpu::result<reduction_split> split_reduction(conv2d_kernel kernel, const conv2d_shape& shape,
                                                           bool one_dispatch,
                                                           std::optional<std::uint32_t> max_loop_iterations);

}  // namespace gpusoak::kernels::detail
