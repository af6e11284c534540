#include "gpusoak/kernels/conv2d_reference.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace gpusoak::kernels {

void conv2d_reference(const conv2d_shape& shape, std::span<const float> input, std::span<const float> weights,
                      std::span<const float> bias, std::span<double> output) {
  const std::ptrdiff_t C = shape.c, H = shape.h, W = shape.w, K = shape.k, R = shape.r, S = shape.s;
  const std::ptrdiff_t P = shape.p(), Q = shape.q();
  const std::ptrdiff_t cpg = C / shape.groups, kpg = K / shape.groups;
  for (std::ptrdiff_t n = 0; n < shape.n; ++n) {
    for (std::ptrdiff_t k = 0; k < K; ++k) {
      const std::ptrdiff_t first_c = (k / kpg) * cpg;
      for (std::ptrdiff_t p = 0; p < P; ++p) {
        for (std::ptrdiff_t q = 0; q < Q; ++q) {
          double sum = shape.bias ? static_cast<double>(bias[static_cast<std::size_t>(k)]) : 0.0;
          for (std::ptrdiff_t c = 0; c < cpg; ++c) {
            const float* in = input.data() + ((n * C + first_c + c) * H) * W;
            const float* wt = weights.data() + ((k * cpg + c) * R) * S;
            for (std::ptrdiff_t r = 0; r < R; ++r) {
              const std::ptrdiff_t ih = p * shape.stride_h - shape.pad_h + r * shape.dilation_h;
              if (ih < 0 || ih >= H) continue;
              for (std::ptrdiff_t s = 0; s < S; ++s) {
                const std::ptrdiff_t iw = q * shape.stride_w - shape.pad_w + s * shape.dilation_w;
                if (iw < 0 || iw >= W) continue;
                sum += static_cast<double>(in[ih * W + iw]) * static_cast<double>(wt[r * S + s]);
              }
            }
          }
          output[static_cast<std::size_t>(((n * K + k) * P + p) * Q + q)] = sum;
        }
      }
    }
  }
}

conv2d_point conv2d_reference_at(const conv2d_shape& shape, std::span<const float> input,
                                 std::span<const float> weights, std::span<const float> bias, std::uint64_t n,
                                 std::uint64_t k, std::uint64_t p, std::uint64_t q) {
  // The loop of conv2d_reference for one (n, k, p, q), in its order: the value is bitwise its.
  const std::int64_t C = shape.c, H = shape.h, W = shape.w, K = shape.k, R = shape.r, S = shape.s;
  const std::int64_t cpg = C / shape.groups, kpg = K / shape.groups;
  const auto ni = static_cast<std::int64_t>(n), ki = static_cast<std::int64_t>(k);
  const std::int64_t first_c = (ki / kpg) * cpg;
  const std::int64_t ih0 = static_cast<std::int64_t>(p) * shape.stride_h - shape.pad_h;
  const std::int64_t iw0 = static_cast<std::int64_t>(q) * shape.stride_w - shape.pad_w;
  conv2d_point point;
  if (shape.bias) {
    point.value = static_cast<double>(bias[k]);
    point.scale = std::fabs(point.value);
  }
  for (std::int64_t c = 0; c < cpg; ++c) {
    const float* in = input.data() + ((ni * C + first_c + c) * H) * W;
    const float* wt = weights.data() + ((ki * cpg + c) * R) * S;
    for (std::int64_t r = 0; r < R; ++r) {
      const std::int64_t ih = ih0 + r * shape.dilation_h;
      if (ih < 0 || ih >= H) continue;
      for (std::int64_t s = 0; s < S; ++s) {
        const std::int64_t iw = iw0 + s * shape.dilation_w;
        if (iw < 0 || iw >= W) continue;
        const double term = static_cast<double>(in[ih * W + iw]) * static_cast<double>(wt[r * S + s]);
        point.value += term;
        point.scale += std::fabs(term);
      }
    }
  }
  return point;
}

double conv2d_error_bound(const conv2d_shape& shape, bool winograd) {
  constexpr double u = 0x1p-24;  // float32's unit roundoff
  constexpr double min_terms = 16;
  constexpr double winograd_factor = 16;
  const double terms = std::max(min_terms, static_cast<double>(shape.c / shape.groups) * shape.r * shape.s + 2);
  if (terms * u >= 0.5) return 1.0;
  const double gamma = terms * u / (1 - terms * u);
  return std::min(1.0, winograd ? winograd_factor * gamma : gamma);
}

double relative_l2_error(std::span<const float> out, std::span<const double> ref) {
  if (out.size() != ref.size()) return std::numeric_limits<double>::infinity();
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i])) return std::numeric_limits<double>::infinity();
    const double d = static_cast<double>(out[i]) - ref[i];
    diff += d * d;
    norm += ref[i] * ref[i];
  }
  return norm == 0 ? std::sqrt(diff) : std::sqrt(diff / norm);
}

}  // namespace gpusoak::kernels
