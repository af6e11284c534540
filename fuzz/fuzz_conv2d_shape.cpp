// conv2d shapes come from plan parameters and `gpusoak bench conv2d --shape`. Properties: no crash;
// a shape that parses reads back from its canonical text; and every value the shaders compute in
// 32-bit signed ints for it fits (recomputed here in 128 bits from kernels/shaders/*.comp, so a
// count or offset that wrapped around in 64 bits cannot pass as small).
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "gpusoak/kernels/conv2d_shape.hpp"

namespace {

__extension__ typedef __int128 wide;  // __extension__: -Wpedantic knows no 128-bit type

// The largest grid-stride step of any kernel: 65535 groups of 64 invocations (direct's pixels,
// winograd's tiles); a loop's last index plus it is computed before the loop ends.
constexpr wide grid_step = wide{65535} * 64;

bool fits_int32(wide v) {
  return v >= std::numeric_limits<std::int32_t>::min() && v <= std::numeric_limits<std::int32_t>::max();
}

// Name of the first value outside int32, or nullptr.
const char* first_overflow(const gpusoak::kernels::conv2d_shape& sh) {
  const wide N = sh.n, C = sh.c, H = sh.h, W = sh.w, K = sh.k, R = sh.r, S = sh.s, G = sh.groups;
  const wide SH = sh.stride_h, SW = sh.stride_w, PH = sh.pad_h, PW = sh.pad_w, DH = sh.dilation_h, DW = sh.dilation_w;
  const wide P = static_cast<wide>(sh.p()), Q = static_cast<wide>(sh.q());
  const wide cpg = C / G;
  // The largest p*stride - pad (first input row of the last output row) and its r offset.
  const wide ih0_max = (P - 1) * SH - PH, iw0_max = (Q - 1) * SW - PW;
  const wide ih_max = ih0_max + (R - 1) * DH, iw_max = iw0_max + (S - 1) * DW;
  const struct {
    const char* what;
    wide value;
  } values[] = {
      // The uniforms (conv2d_common.glsl).
      {"N", N},
      {"C", C},
      {"H", H},
      {"W", W},
      {"K", K},
      {"P", P},
      {"Q", Q},
      {"groups", G},
      {"R", R},
      {"S", S},
      {"stride_h", SH},
      {"stride_w", SW},
      {"pad_h", PH},
      {"pad_w", PW},
      {"dilation_h", DH},
      {"dilation_w", DW},
      // direct.comp: the pixel loop's last step, p*stride, the rows and columns, the flat indices.
      {"P*Q + step", P * Q - 1 + grid_step},
      {"K + step", K - 1 + 65535},
      {"N + step", N - 1 + 65535},
      {"(P-1)*stride_h", (P - 1) * SH},
      {"(Q-1)*stride_w", (Q - 1) * SW},
      {"-pad_h", -PH},
      {"-pad_w", -PW},
      {"ih", ih_max},
      {"iw", iw_max},
      {"(R-1)*dilation_h", (R - 1) * DH},
      {"(S-1)*dilation_w", (S - 1) * DW},
      {"in_base", (N * C - 1) * H * W},
      {"wt_base", (K * cpg - 1) * R * S + (R - 1) * S + S - 1},
      {"output index", ((N * K - 1) * P + P - 1) * Q + Q - 1},
      {"input index", N * C * H * W - 1},
  };
  for (const auto& v : values) {
    if (!fits_int32(v.value)) return v.what;
  }
  // tiled.comp runs strides up to 2 and kernels up to 3x3 (tiled_params), 16x8 output tiles:
  // the patch's last row and column.
  if (SH <= 2 && SW <= 2 && R <= 3 && S <= 3) {
    for (const wide v : {ih0_max + 7 * SH + R - 1, iw0_max + 15 * SW + S - 1, ((P + 7) / 8) * ((Q + 15) / 16)}) {
      if (!fits_int32(v)) return "a tiled.comp patch index";
    }
  }
  // gemm.comp runs groups 1: C*R*S and its last chunk, N*P*Q and its last tile, the im2col row
  // offset of the last reduction element, the staged pixel's base at both ends.
  if (G == 1) {
    const struct {
      const char* what;
      wide value;
    } gemm[] = {
        {"CRS + 15", C * R * S + 15},
        {"NPQ + 127", N * P * Q + 127},
        {"K + 63", K + 63},
        {"r*DH*W", (R - 1) * DH * W},
        {"row offset", (C - 1) * H * W + (R - 1) * DH * W + (S - 1) * DW},
        {"ih0*W low", -PH * W},
        {"ih0*W high", ih0_max * W},
        {"pixel_base low", -PH * W - PW},
        {"pixel_base high", (N - 1) * C * H * W + ih0_max * W + iw0_max},
        {"img_base", N * C * H * W},
    };
    for (const auto& v : gemm) {
      if (!fits_int32(v.value)) return v.what;
    }
  }
  return nullptr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace gpusoak::kernels;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto shape = parse_conv2d_shape(text);
  if (!shape) {
    return 0;
  }
  const std::string canonical = shape->to_string();
  const auto again = parse_conv2d_shape(canonical);
  GPUSOAK_FUZZ_CHECK(again && *again == *shape, "'%s' does not read back", canonical.c_str());

  constexpr wide limit = std::numeric_limits<std::int32_t>::max();
  const wide input = wide{shape->n} * shape->c * shape->h * shape->w;
  const wide weights = wide{shape->k} * (shape->c / shape->groups) * shape->r * shape->s;
  const wide output = wide{shape->n} * shape->k * static_cast<wide>(shape->p()) * static_cast<wide>(shape->q());
  GPUSOAK_FUZZ_CHECK(input <= limit && weights <= limit && output <= limit, "'%s' passed with too many elements",
                     canonical.c_str());
  const char* overflow = first_overflow(*shape);
  GPUSOAK_FUZZ_CHECK(overflow == nullptr, "'%s' passed, but the shaders' %s does not fit int32", canonical.c_str(),
                     overflow);
  GPUSOAK_FUZZ_CHECK(shape->flops() >= 0, "negative flops");
  return 0;
}
