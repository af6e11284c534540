// The shape of one conv2d forward: NCHW input, KCRS weights (C per group), optional bias.
//
// Output height P = (H + 2*pad_h - dilation_h*(R-1) - 1) / stride_h + 1, width Q likewise.
// Weights hold K * (C/groups) * R * S floats; output channel k reads input channels
// [g*C/groups, (g+1)*C/groups) with g = k / (K/groups). Depthwise is groups == C == K.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gpusoak/buffers/error.hpp"

namespace gpusoak::kernels {

struct conv2d_shape {
  std::uint32_t n = 1, c = 1, h = 1, w = 1;  // input: batch, channels, height, width
  std::uint32_t k = 1, r = 1, s = 1;         // output channels, kernel height, kernel width
  std::uint32_t stride_h = 1, stride_w = 1;
  std::uint32_t pad_h = 0, pad_w = 0;  // zero padding on each side
  std::uint32_t dilation_h = 1, dilation_w = 1;
  std::uint32_t groups = 1;
  bool bias = false;

  // Every field in range and consistent; the message names the field and its value
  // ("groups 3 does not divide channels 16"). Also refuses shapes whose element counts do not
  // fit the shaders' 32-bit signed indexing.
  [[nodiscard]] gpu::result<void> validate() const;

  // Output dimensions; meaningful only for a shape that validates.
  [[nodiscard]] std::uint32_t p() const noexcept;
  [[nodiscard]] std::uint32_t q() const noexcept;

  // Element counts saturate at UINT64_MAX rather than wrap, so validate() sees a huge shape as huge.
  [[nodiscard]] std::uint64_t input_elements() const noexcept;   // n*c*h*w
  [[nodiscard]] std::uint64_t weight_elements() const noexcept;  // k*(c/groups)*r*s
  [[nodiscard]] std::uint64_t bias_elements() const noexcept;    // k, or 0 without bias
  [[nodiscard]] std::uint64_t output_elements() const noexcept;  // n*k*p*q
  // Multiply-adds times two: 2*N*K*P*Q*(C/groups)*R*S (bias adds not counted).
  [[nodiscard]] double flops() const noexcept;

  // The canonical text, which parse_conv2d_shape reads back: "N1 C3 32x32 K16 3x3 s2 p1 g4 bias"
  // (tokens at their defaults are left out).
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const conv2d_shape&, const conv2d_shape&) = default;
};

// Parses "N1 C3 32x32 K16 3x3" (input HxW first, kernel RxS second) plus optional tokens, in any
// order after the required ones: `s2` or `s2x1` (stride), `p1` or `p1x0` (padding), `d2` or
// `d2x1` (dilation), `g4` (groups), `bias`. N defaults to 1; the rest are required. The result
// is validated. Errors are `validation` and name the bad token ("token 'q3': unknown").
[[nodiscard]] gpu::result<conv2d_shape> parse_conv2d_shape(std::string_view text);

}  // namespace gpusoak::kernels
