// The CPU reference for conv2d forward, in double precision, and the error measure the GPU
// kernels are checked with.
#pragma once

#include <cstdint>
#include <span>

#include "gpusoak/kernels/conv2d_shape.hpp"

namespace gpusoak::kernels {

// out[n][k][p][q] = bias[k] + sum over (c in k's group, r, s) of in[n][c][ih][iw] * wt[k][c][r][s]
// with ih = p*stride_h - pad_h + r*dilation_h (likewise iw), padding reading zeros. Spans hold
// shape.input_elements(), weight_elements(), bias_elements() (may be empty without bias) and
// output_elements() values; the shape must validate. Sums in double.
void conv2d_reference(const conv2d_shape& shape, std::span<const float> input, std::span<const float> weights,
                      std::span<const float> bias, std::span<double> output);

// One output of conv2d_reference, at linear index `index` of the NKPQ output, with its condition:
// `scale` is the sum over its terms of |w||x|, plus |bias|, the size floating-point rounding
// errors of the sum are bounded by. For checking a sample of a large output.
struct conv2d_point {
  double value = 0;
  double scale = 0;
};
[[nodiscard]] conv2d_point conv2d_reference_at(const conv2d_shape& shape, std::span<const float> input,
                                               std::span<const float> weights, std::span<const float> bias,
                                               std::uint64_t index);

// How far a float32 kernel's output may be from the reference, relative to the output's scale:
// gamma(n) = n u / (1 - n u), u = 2^-24, for a sum of n = (C/groups) R S products plus the bias,
// in any order (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., 3.1: the bound
// of a dot product). Winograd F(2x2, 3x3) also rounds in its transforms, whose entries reach
// several times the inputs' size: 16 gamma(n + 16) (Barabasz et al. 2020 measure its error a few
// times direct's; 16 is a loose ceiling).
[[nodiscard]] double conv2d_error_bound(const conv2d_shape& shape, bool winograd);

// ||out - ref||_2 / ||ref||_2. Infinity when any out element is not finite (NaN poison left
// over, a lost write) or the sizes differ; ||out||_2 when ref is all zeros.
[[nodiscard]] double relative_l2_error(std::span<const float> out, std::span<const double> ref);

}  // namespace gpusoak::kernels
