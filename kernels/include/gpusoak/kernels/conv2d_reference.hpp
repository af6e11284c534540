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

// One output point of conv2d_reference: its value, summed in the same order (so equal to the full
// reference's), and its condition scale, the sum over its terms of |w||x| plus |bias|, which
// floating-point summation errors are bounded by (conv2d_error_bound).
struct conv2d_point {
  double value = 0;
  double scale = 0;
};

// out[n][k][p][q] and its scale, for a large shape where the whole reference would take too long:
// (C/groups)*R*S products. Same spans as conv2d_reference; n < N, k < K, p < P, q < Q.
[[nodiscard]] conv2d_point conv2d_reference_at(const conv2d_shape& shape, std::span<const float> input,
                                               std::span<const float> weights, std::span<const float> bias,
                                               std::uint64_t n, std::uint64_t k, std::uint64_t p, std::uint64_t q);

// The most |out - ref| / scale may be for a float32 conv2d of `shape` computed by any summation
// order: gamma_m = m u / (1 - m u), u = 2^-24 (Higham, "Accuracy and Stability of Numerical
// Algorithms", 2nd ed., 3.1 and 3.5: the sum of m rounded products is off by at most gamma_m of the
// sum of their magnitudes), m = (C/groups)*R*S + 2 (the products, the bias and the store), never
// below gamma_16 (the compiler may contract or reassociate a few more roundings than the count
// says). With winograd, 16 times that: F(2x2, 3x3) rounds in its transforms too (U = G g G^T,
// V = B^T d B, A^T M A, up to 9-term sums each), which Barabasz et al. ("Error analysis and
// improving the accuracy of Winograd convolution for deep neural networks", ACM TOMS 2020) measure
// at a few times the direct error for this tile size; it holds for inputs of like magnitude over a
// 4x4 patch (a patch entry far larger than its neighbours cancels only in exact arithmetic). Past
// m u = 1/2 (m >= 2^23) the worst-case bound exceeds 1 and says nothing: 1 is returned, which still
// refuses an output off by its whole scale.
[[nodiscard]] double conv2d_error_bound(const conv2d_shape& shape, bool winograd);

// ||out - ref||_2 / ||ref||_2. Infinity when any out element is not finite (NaN poison left
// over, a lost write) or the sizes differ; ||out||_2 when ref is all zeros.
[[nodiscard]] double relative_l2_error(std::span<const float> out, std::span<const double> ref);

}  // namespace gpusoak::kernels
