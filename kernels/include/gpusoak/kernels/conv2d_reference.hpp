// The CPU reference for conv2d forward, in double precision, and the error measure the GPU
// kernels are checked with.
#pragma once

#include <span>

#include "gpusoak/kernels/conv2d_shape.hpp"

namespace gpusoak::kernels {

// out[n][k][p][q] = bias[k] + sum over (c in k's group, r, s) of in[n][c][ih][iw] * wt[k][c][r][s]
// with ih = p*stride_h - pad_h + r*dilation_h (likewise iw), padding reading zeros. Spans hold
// shape.input_elements(), weight_elements(), bias_elements() (may be empty without bias) and
// output_elements() values; the shape must validate. Sums in double.
void conv2d_reference(const conv2d_shape& shape, std::span<const float> input, std::span<const float> weights,
                      std::span<const float> bias, std::span<double> output);

// ||out - ref||_2 / ||ref||_2. Infinity when any out element is not finite (NaN poison left
// over, a lost write) or the sizes differ; ||out||_2 when ref is all zeros.
[[nodiscard]] double relative_l2_error(std::span<const float> out, std::span<const double> ref);

}  // namespace gpusoak::kernels
