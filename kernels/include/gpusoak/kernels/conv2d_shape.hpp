// The shape of one conv2d forward: NCHW input, KCRS weights (C per group), optional bias.
//
// Output height P = (H + 2*pad_h - dilation_h*(R-1) - 1) / stride_h + 1, width Q likewise.
// Weights hold K * (C/groups) * R * S floats; output channel k reads input channels
// [g*C/groups, (g+1)*C/groups) with g = k / (K/groups). Depthwise is groups == C == K.
//
// Bounds (validate() enforces them): the shaders compute with 32-bit signed ints, so every value
// they use must stay below 2^31. With L = shader_index_limit = 2^31 - 2^22 (the 2^22 is headroom
// for a grid-stride loop's last step: 65535 groups of 64 invocations) a shape validates only when
//   - each field is at most L (stride and dilation reach the shaders as ints);
//   - H + 2*pad_h <= L and W + 2*pad_w <= L: every row the shaders compute, p*stride_h - pad_h +
//     r*dilation_h, and (R-1)*dilation_h lie within [-pad_h, H + 2*pad_h);
//   - input N*C*H*W, weights K*(C/groups)*R*S and output N*K*P*Q elements are each at most L: the
//     flat indices ((n*C + c)*H + ih)*W + iw, ((n*K + k)*P + p)*Q + q, the loop bounds P*Q and
//     N*P*Q and the GEMM's reduction C*R*S;
//   - the padded input N*C*(H + 2*pad_h)*(W + 2*pad_w) is at most L: gemm's offsets
//     c*H*W + r*dilation_h*W + s*dilation_w and img*C*H*W + ih0*W + iw0, with ih0 and iw0 as low
//     as -pad_h and -pad_w.
// Lanes past the end of a tile (a pixel past N*P*Q, a channel past C or K) may compute offsets
// that wrap; each is discarded by a guard before it indexes memory, and GLSL defines signed
// overflow as wrapping (GLSL 4.60, 4.1.3). Winograd's scratch (16*K*C, 16*C*T, 16*K*T floats, T
// the 2x2 tiles) is conv2d_kernels::supports()'s to bound. fuzz/fuzz_conv2d_shape.cpp recomputes
// every bounded value in 128 bits for each shape that validates.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gpusoak/buffers/error.hpp"

namespace gpusoak::kernels {

// The most any field, element count or padded extent may reach (see the bounds above).
inline constexpr std::uint64_t shader_index_limit = (std::uint64_t{1} << 31) - (std::uint64_t{1} << 22);

struct conv2d_shape {
  std::uint32_t n = 1, c = 1, h = 1, w = 1;  // input: batch, channels, height, width
  std::uint32_t k = 1, r = 1, s = 1;         // output channels, kernel height, kernel width
  std::uint32_t stride_h = 1, stride_w = 1;
  std::uint32_t pad_h = 0, pad_w = 0;  // zero padding on each side
  std::uint32_t dilation_h = 1, dilation_w = 1;
  std::uint32_t groups = 1;
  bool bias = false;

  // Every field in range and consistent; the message names the field and its value
  // ("groups 3 does not divide channels 16"). Also refuses what passes the bounds above, naming
  // the field, its value and the bound ("pad_h 4294967295: more than 1071644670, ...").
  [[nodiscard]] gpu::result<void> validate() const;

  // Output dimensions, computed in 64 bits without truncation (a 32-bit field's extent can pass
  // 2^32); 0 when the kernel does not fit the padded input. Meaningful only for a shape that
  // validates, which keeps them at most shader_index_limit.
  [[nodiscard]] std::uint64_t p() const noexcept;
  [[nodiscard]] std::uint64_t q() const noexcept;

  // Element counts saturate at UINT64_MAX rather than wrap, so validate() sees a huge shape as huge.
  [[nodiscard]] std::uint64_t input_elements() const noexcept;   // n*c*h*w
  [[nodiscard]] std::uint64_t weight_elements() const noexcept;  // k*(c/groups)*r*s
  [[nodiscard]] std::uint64_t bias_elements() const noexcept;    // k, or 0 without bias
  [[nodiscard]] std::uint64_t output_elements() const noexcept;  // n*k*p*q
  // n*c*(h + 2*pad_h)*(w + 2*pad_w): the input with its zero border, the span gemm's offsets cover.
  [[nodiscard]] std::uint64_t padded_input_elements() const noexcept;
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
