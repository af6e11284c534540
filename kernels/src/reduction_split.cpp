#include "reduction_split.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>

namespace gpusoak::kernels::detail {
namespace {

using gpu::error_kind;
using gpu::make_error;

// Costs are doubles: exact far past any budget, and a product of huge counts cannot wrap.
double ceil_div(double a, double b) {
  return std::ceil(a / b);
}

// A loop entry of `n` iterations (module comment).
double loop(double n) {
  return n + 2;
}

// Items one invocation takes along an axis of `items` spread over `per_group` invocations a
// group, with the groups clamped to GL's 65,535 a dispatch axis (the shaders loop over the rest).
double per_invocation(double items, double per_group) {
  const double groups = std::clamp(ceil_div(items, per_group), 1.0, 65535.0);
  return ceil_div(items, groups * per_group);
}

// A grid-stride loop over `iterations` items, each costing `item`.
double strided(double iterations, double item) {
  return loop(iterations) + iterations * item;
}

// conv2d_direct.comp: n, k and pixel loops around the rows of a pass, each with its columns.
double direct_cost(const conv2d_shape& sh, double rows, double columns) {
  const double item = loop(rows) + rows * loop(columns);
  return strided(per_invocation(sh.n, 1),
                 strided(per_invocation(sh.k, 1), strided(per_invocation(double(sh.p()) * sh.q(), 64), item)));
}

// conv2d_tiled.comp: n, channel-block and tile loops around a pass's input-channel blocks.
double tiled_cost(const conv2d_shape& sh, double blocks) {
  constexpr double tw = 16, th = 8, cb = tiled_params::in_channels, kb = tiled_params::out_channels;
  const double patch_rows = ceil_div((th - 1) * sh.stride_h + sh.r, th);
  const double patch_cols = ceil_div((tw - 1) * sh.stride_w + sh.s, tw);
  const double stage_input = loop(patch_rows) + patch_rows * (loop(patch_cols) + patch_cols * loop(cb));
  const double weight_rows = ceil_div(kb, th), weight_cols = ceil_div(double(sh.r) * sh.s, tw);
  const double stage_weights = loop(weight_rows) + weight_rows * (loop(cb) + cb * loop(weight_cols));
  const double multiply = loop(cb) + cb * (loop(sh.r) + sh.r * loop(sh.s));
  const double item = loop(4) + loop(blocks) + blocks * (stage_input + stage_weights + multiply) + loop(4);
  const double tiles = ceil_div(sh.p(), th) * ceil_div(sh.q(), tw);
  return strided(per_invocation(sh.n, 1),
                 strided(per_invocation(ceil_div(sh.k, kb), 1), strided(per_invocation(tiles, 1), item)));
}

// conv2d_gemm.comp with `pixel_blocks` (HN) 4x4 blocks: tile loops around a pass's chunks.
// `pixels` is the GEMM's N (N P Q, or T for winograd's batched GEMM), `channels` its M (K).
double gemm_cost(double pixels, double channels, double pixel_blocks, double chunks) {
  constexpr double bk = 16, hm = 1;
  const double a_loads = 4 * hm, b_loads = 4 * pixel_blocks;
  const double load = loop(a_loads) + a_loads * loop(4) + loop(b_loads) + b_loads * loop(4);
  const double chunk =
      loop(a_loads) + loop(b_loads) + load + loop(bk) + bk * (loop(pixel_blocks) + loop(hm) + hm * loop(pixel_blocks));
  const double epilogue = loop(pixel_blocks) + pixel_blocks * (loop(4) + 4 * (loop(hm) + hm * loop(4)));
  const double tile = load + loop(4 * hm * pixel_blocks) + loop(chunks) + chunks * chunk + epilogue;
  return strided(per_invocation(ceil_div(channels, 64 * hm), 1),
                 strided(per_invocation(ceil_div(pixels, 64 * pixel_blocks), 1), tile));
}

double winograd_tiles(const conv2d_shape& sh) {
  return double(sh.n) * ceil_div(sh.p(), 2) * ceil_div(sh.q(), 2);
}

// conv2d_winograd.comp's transforms, which do not split: weights over K C, input over (C, tiles),
// output over (K, tiles), each item a fixed handful of small loops.
double winograd_transforms_cost(const conv2d_shape& sh) {
  constexpr double item = 64;
  const double tiles = winograd_tiles(sh);
  const double weights = strided(per_invocation(double(sh.k) * sh.c, 64), item);
  const double input = strided(per_invocation(sh.c, 1), strided(per_invocation(tiles, 64), item));
  const double output = strided(per_invocation(sh.k, 1), strided(per_invocation(tiles, 64), item));
  return std::max({weights, input, output});
}

// conv2d_winograd_one_dispatch.comp: its loop over every input channel does not split.
double winograd_one_dispatch_cost(const conv2d_shape& sh) {
  using p = winograd_one_dispatch_params;
  constexpr double chunk = 400;  // staging, transform and the 16 products of one chunk, generously
  const double blocks =
      double(sh.n) * ceil_div(ceil_div(sh.p(), 2), p::tiles_h) * ceil_div(ceil_div(sh.q(), 2), p::tiles_w);
  const double item = 200 + strided(ceil_div(sh.c, p::in_channels), chunk);
  return strided(per_invocation(ceil_div(sh.k, p::out_channels), 1), strided(per_invocation(blocks, 1), item));
}

// The largest units a pass in [1, units] whose cost stays within `budget`, or 0 when one does not.
std::uint64_t largest_pass(std::uint64_t units, double budget, const std::function<double(double)>& cost) {
  if (cost(1) > budget) return 0;
  std::uint64_t lo = 1, hi = units;
  while (lo < hi) {
    const std::uint64_t mid = lo + (hi - lo + 1) / 2;
    if (cost(static_cast<double>(mid)) <= budget) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

gpusoak::error too_long(conv2d_kernel kernel, const conv2d_shape& sh, std::string_view what, double iterations,
                        std::uint32_t cap) {
  return {error_kind::unsupported,
          fmt::format("{} cannot run '{}' here: {} would take about {:.0f} loop iterations in one shader "
                      "invocation, and this driver stops loops at {} (quirk max_loop_iterations)",
                      to_string(kernel), sh.to_string(), what, iterations, cap)};
}

}  // namespace

gpu::result<reduction_split> split_reduction(conv2d_kernel kernel, const conv2d_shape& sh, bool one_dispatch,
                                             std::optional<std::uint32_t> max_loop_iterations) {
  const std::uint64_t cpg = sh.c / sh.groups;
  const std::uint64_t rows = cpg * sh.r;
  std::uint64_t units = 0;
  std::function<double(double)> cost;
  switch (kernel) {
    case conv2d_kernel::automatic:
    case conv2d_kernel::direct:
      units = rows;
      cost = [&](double n) { return direct_cost(sh, n, sh.s); };
      break;
    case conv2d_kernel::tiled:
      units = (std::uint64_t{sh.c} + tiled_params::in_channels - 1) / tiled_params::in_channels;
      cost = [&](double n) { return tiled_cost(sh, n); };
      break;
    case conv2d_kernel::gemm:
    case conv2d_kernel::gemm_wide: {
      units = (cpg * sh.r * sh.s + 15) / 16;
      const double pixel_blocks = kernel == conv2d_kernel::gemm_wide ? 2 : 1;
      cost = [&, pixel_blocks](double n) { return gemm_cost(double(sh.n) * sh.p() * sh.q(), sh.k, pixel_blocks, n); };
      break;
    }
    case conv2d_kernel::winograd:
      units = (std::uint64_t{sh.c} + 15) / 16;
      cost = [&](double n) { return gemm_cost(winograd_tiles(sh), sh.k, 2, n); };
      break;
  }
  if (!max_loop_iterations) {
    return reduction_split{
        .passes = {{.begin = 0, .end = static_cast<std::uint32_t>(units), .s_begin = 0, .s_end = sh.s}},
        .loop_iterations = static_cast<std::uint64_t>(cost(static_cast<double>(units)))};
  }
  const std::uint32_t cap = *max_loop_iterations;
  const double budget = cap / 2.0;
  if (kernel == conv2d_kernel::winograd) {
    if (one_dispatch && winograd_one_dispatch_cost(sh) > budget) {
      return std::unexpected(too_long(kernel, sh, "its one-dispatch form", winograd_one_dispatch_cost(sh), cap));
    }
    if (const double transforms = winograd_transforms_cost(sh); transforms > budget) {
      return std::unexpected(too_long(kernel, sh, "its transforms", transforms, cap));
    }
    if (one_dispatch) return reduction_split{.passes = {{.begin = 0, .end = 0}}, .loop_iterations = 0};
  }

  reduction_split split;
  const std::uint64_t per_pass = largest_pass(units, budget, cost);
  if (per_pass > 0) {
    for (std::uint64_t begin = 0; begin < units; begin += per_pass) {
      split.passes.push_back({.begin = static_cast<std::uint32_t>(begin),
                              .end = static_cast<std::uint32_t>(std::min(units, begin + per_pass)),
                              .s_begin = 0,
                              .s_end = sh.s});
      if (split.passes.size() > max_passes) break;
    }
    split.loop_iterations = static_cast<std::uint64_t>(cost(static_cast<double>(per_pass)));
  } else if (kernel == conv2d_kernel::direct) {
    // A single filter row is too long: one row a pass, cut by columns.
    const auto row_cost = [&](double columns) { return direct_cost(sh, 1, columns); };
    const std::uint64_t columns = largest_pass(sh.s, budget, row_cost);
    if (columns == 0) return std::unexpected(too_long(kernel, sh, "one filter column a pass", row_cost(1), cap));
    for (std::uint64_t row = 0; row < rows && split.passes.size() <= max_passes; ++row) {
      for (std::uint64_t s = 0; s < sh.s && split.passes.size() <= max_passes; s += columns) {
        split.passes.push_back({.begin = static_cast<std::uint32_t>(row),
                                .end = static_cast<std::uint32_t>(row + 1),
                                .s_begin = static_cast<std::uint32_t>(s),
                                .s_end = static_cast<std::uint32_t>(std::min<std::uint64_t>(sh.s, s + columns))});
      }
    }
    split.loop_iterations = static_cast<std::uint64_t>(row_cost(static_cast<double>(columns)));
  } else {
    return std::unexpected(too_long(kernel, sh, "one unit of its reduction a pass", cost(1), cap));
  }
  if (split.passes.size() > max_passes) {
    return make_error(error_kind::unsupported,
                      fmt::format("{} cannot run '{}' here: staying within this driver's {} loop iterations "
                                  "(quirk max_loop_iterations) would take more than {} dispatches",
                                  to_string(kernel), sh.to_string(), cap, max_passes));
  }
  return split;
}

}  // namespace gpusoak::kernels::detail
