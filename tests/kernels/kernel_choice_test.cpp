// conv2d kernel choice (kernels/src/kernel_choice.hpp), rule by rule, without a GL context.
#include "kernel_choice.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <random>
#include <string>
#include <utility>

#include "gpusoak/kernels/conv2d.hpp"

namespace gpusoak::kernels {

// Kernel names in failure messages.
void PrintTo(conv2d_kernel kernel, std::ostream* os) {
  *os << to_string(kernel);
}

namespace detail {
namespace {

conv2d_shape shape(const std::string& text) {
  auto parsed = parse_conv2d_shape(text);
  if (!parsed) {
    ADD_FAILURE() << text << ": " << parsed.error().message;
    return {};
  }
  return *parsed;
}

// Capabilities as probe() derives them from a driver's strings.
gpu::capabilities caps_of(std::string vendor, std::string renderer, std::string version) {
  gpu::capabilities caps{.vendor = std::move(vendor), .renderer = std::move(renderer), .version = std::move(version)};
  gpu::derive_platform_facts(caps);
  return caps;
}

gpu::capabilities h100() {
  return caps_of("NVIDIA Corporation", "NVIDIA H100 80GB HBM3/PCIe/SSE2", "4.6.0 NVIDIA 580.159.04");
}
gpu::capabilities llvmpipe() {
  return caps_of("Mesa", "llvmpipe (LLVM 15.0.6, 256 bits)", "4.5 (Core Profile) Mesa 22.3.6");
}

const kernel_tuning* const all_tunings[] = {&nvidia_discrete_tuning, &other_discrete_tuning, &uma_tuning};

// A 1-row, 1-channel input of `bytes` (a multiple of 4) with a 3x3 kernel, padding 1: a shape
// winograd and tiled both support, whose input size alone is set.
conv2d_shape row_of_bytes(std::uint64_t bytes, std::uint32_t k) {
  return conv2d_shape{
      .c = 1, .h = 1, .w = static_cast<std::uint32_t>(bytes / 4), .k = k, .r = 3, .s = 3, .pad_h = 1, .pad_w = 1};
}

// checks that the table follows the driver: the H100's for NVIDIA discrete GPUs, the uma table for
// llvmpipe and every integrated GPU (NVIDIA's included), the unmeasured discrete table for AMD,
// Intel Arc and unknown discrete GPUs
TEST(KernelChoice, TableFollowsVendorAndMemory) {
  struct driver {
    gpu::capabilities caps;
    std::string_view table;
  };
  const driver drivers[] = {
      {h100(), "nvidia_discrete"},
      {caps_of("NVIDIA Corporation", "NVIDIA GeForce RTX 4090/PCIe/SSE2", "4.6.0 NVIDIA 550.54"), "nvidia_discrete"},
      {caps_of("NVIDIA Corporation", "NVIDIA Tegra Orin (nvgpu)/integrated", "4.6.0 NVIDIA 35.4.1"), "uma"},
      {llvmpipe(), "uma"},
      {caps_of("Mesa", "softpipe", "3.3 (Core Profile) Mesa 22.3.6"), "uma"},
      {caps_of("AMD", "AMD Radeon RX 6800 (radeonsi, navi21, LLVM 15.0.6)", "4.6 (Core Profile) Mesa 22.3.6"),
       "other_discrete"},
      {caps_of("ATI Technologies Inc.", "AMD Radeon PRO W7900", "4.6.14830 Core Profile Context"), "other_discrete"},
      {caps_of("AMD", "AMD Radeon Graphics (radeonsi, renoir, LLVM 15.0.6)", "4.6 (Core Profile) Mesa 22.3.6"), "uma"},
      {caps_of("Intel", "Mesa Intel(R) UHD Graphics 630 (CFL GT2)", "4.6 (Core Profile) Mesa 22.3.6"), "uma"},
      {caps_of("Intel", "Mesa Intel(R) Arc(tm) A770 Graphics (DG2)", "4.6 (Core Profile) Mesa 23.1.0"),
       "other_discrete"},
      {caps_of("ARM", "Mali-G710", "OpenGL ES 3.2 v1.r38p1"), "uma"},
      {caps_of("Imagination Technologies", "PowerVR B-Series BXM-8-256", "OpenGL ES 3.2"), "other_discrete"},
  };
  for (const driver& d : drivers) {
    EXPECT_EQ(tuning_for(d.caps).name, d.table) << d.caps.renderer;
  }
  // A software renderer gets the uma table even where nothing set uma.
  gpu::capabilities software = llvmpipe();
  software.uma = false;
  EXPECT_EQ(tuning_for(software).name, "uma");
  // The public entry point uses the same table.
  const conv2d_shape few = shape("N1 C8 64x64 K8 3x3 p1");
  EXPECT_EQ(conv2d_kernels::pick(few, h100()), conv2d_kernel::winograd);
  EXPECT_EQ(conv2d_kernels::pick(few, llvmpipe()), conv2d_kernel::tiled);
}

// checks the shapes docs/kernels.md cites, on the H100's table and on llvmpipe's: what automatic
// ran on both before the tables existed
TEST(KernelChoice, DocumentedShapesOnTheH100AndLlvmpipe) {
  const kernel_tuning& discrete = tuning_for(h100());
  const kernel_tuning& integrated = tuning_for(llvmpipe());
  const auto pick = [](const kernel_tuning& t, const char* text) { return choose_kernel(shape(text), t); };
  // Few channels on the H100: winograd where it is one dispatch (below 2 MiB of input, C <= 64).
  EXPECT_EQ(pick(discrete, "N1 C3 32x32 K16 3x3 p1"), conv2d_kernel::winograd);
  EXPECT_EQ(pick(discrete, "N1 C8 64x64 K8 3x3 p1"), conv2d_kernel::winograd);
  EXPECT_EQ(pick(discrete, "N1 C3 224x224 K16 3x3 p1"), conv2d_kernel::winograd);  // 588 KiB
  EXPECT_EQ(pick(discrete, "N1 C8 256x256 K16 3x3 p1"), conv2d_kernel::tiled);     // 2 MiB
  EXPECT_EQ(pick(discrete, "N1 C16 64x64 K31 3x3 s2 p1"), conv2d_kernel::tiled);
  EXPECT_EQ(pick(discrete, "N1 C64 56x56 K64 3x3 p1"), conv2d_kernel::winograd);
  EXPECT_EQ(pick(discrete, "N1 C16 16x16 K16 5x5"), conv2d_kernel::gemm);
  EXPECT_EQ(pick(discrete, "N1 C16 16x16 K16 3x3 g16"), conv2d_kernel::direct);
  EXPECT_EQ(pick(integrated, "N1 C64 56x56 K64 3x3 p1"), conv2d_kernel::winograd);
  EXPECT_EQ(pick(integrated, "N32 C128 28x28 K128 3x3 p1"), conv2d_kernel::winograd);
  EXPECT_EQ(pick(integrated, "N32 C64 56x56 K64 3x3"), conv2d_kernel::winograd);
  EXPECT_EQ(pick(integrated, "N1 C256 14x14 K256 1x1"), conv2d_kernel::gemm);
  EXPECT_EQ(pick(integrated, "N1 C64 56x56 K32 3x3 s2 p1"), conv2d_kernel::gemm);
  EXPECT_EQ(pick(integrated, "N1 C64 56x56 K32 3x3 d2 p2"), conv2d_kernel::gemm);
  EXPECT_EQ(pick(integrated, "N1 C3 32x32 K16 3x3 p1"), conv2d_kernel::tiled);
  EXPECT_EQ(pick(integrated, "N1 C8 64x64 K8 3x3 p1"), conv2d_kernel::tiled);
  EXPECT_EQ(pick(integrated, "N1 C16 64x64 K16 3x3 p1"), conv2d_kernel::winograd);
  EXPECT_EQ(pick(integrated, "N1 C3 224x224 K32 3x3 p1"), conv2d_kernel::winograd);
  EXPECT_EQ(pick(integrated, "N1 C15 64x64 K31 3x3 p1"), conv2d_kernel::tiled);
  EXPECT_EQ(pick(integrated, "N1 C16 64x64 K31 3x3 s2 p1"), conv2d_kernel::tiled);
  EXPECT_EQ(pick(integrated, "N1 C16 16x16 K16 5x5"), conv2d_kernel::gemm);
  EXPECT_EQ(pick(integrated, "N1 C16 16x16 K16 3x3 d2"), conv2d_kernel::gemm);
  EXPECT_EQ(pick(integrated, "N1 C16 16x16 K16 3x3 s3"), conv2d_kernel::gemm);
  EXPECT_EQ(pick(integrated, "N1 C16 16x16 K16 1x3"), conv2d_kernel::gemm);
  EXPECT_EQ(pick(integrated, "N1 C16 16x16 K16 3x3 g16"), conv2d_kernel::direct);
  EXPECT_EQ(pick(integrated, "N1 C64 16x16 K64 3x3 g2"), conv2d_kernel::direct);
  // Not winograd's: from 256 tiles of 64x128 the wide gemm, below it gemm.
  EXPECT_EQ(pick(integrated, "N32 C128 56x56 K128 3x3 s2 p1"), conv2d_kernel::gemm_wide);
  EXPECT_EQ(pick(integrated, "N32 C64 56x56 K64 5x5 p2"), conv2d_kernel::gemm_wide);
  EXPECT_EQ(pick(integrated, "N8 C64 56x56 K64 5x5 p2"), conv2d_kernel::gemm);
  EXPECT_EQ(pick(integrated, "N4 C128 28x28 K128 3x3 s2 p1"), conv2d_kernel::gemm);
  for (const kernel_tuning* t : {&discrete, &integrated}) {
    SCOPED_TRACE(t->name);
    const auto copies = [&](conv2d_kernel k, const char* text) { return copies_over_bus(k, shape(text), *t); };
    const auto one = [&](const char* text) { return winograd_in_one_dispatch(shape(text), *t); };
    // Over a bus: tiled between copies from 64 KiB of input, winograd from 2 MiB, the rest always.
    EXPECT_FALSE(copies(conv2d_kernel::winograd, "N1 C16 8x8 K32 3x3 p1"));
    EXPECT_FALSE(copies(conv2d_kernel::winograd, "N1 C64 56x56 K64 3x3 p1"));
    EXPECT_FALSE(copies(conv2d_kernel::winograd, "N1 C32 128x127 K16 3x3 p1"));
    EXPECT_TRUE(copies(conv2d_kernel::winograd, "N1 C32 128x128 K16 3x3 p1"));  // 2 MiB
    EXPECT_TRUE(copies(conv2d_kernel::winograd, "N8 C64 56x56 K64 3x3 p1"));
    EXPECT_TRUE(copies(conv2d_kernel::gemm, "N1 C256 14x14 K256 1x1"));
    EXPECT_TRUE(copies(conv2d_kernel::gemm_wide, "N1 C1 2x2 K1 1x1"));
    EXPECT_TRUE(copies(conv2d_kernel::direct, "N1 C64 16x16 K64 3x3 g2"));
    EXPECT_FALSE(copies(conv2d_kernel::tiled, "N1 C3 32x32 K16 3x3 p1"));
    EXPECT_FALSE(copies(conv2d_kernel::tiled, "N1 C16 32x31 K16 3x3 p1"));  // 62 KiB
    EXPECT_TRUE(copies(conv2d_kernel::tiled, "N1 C16 32x32 K16 3x3 p1"));   // 64 KiB
    EXPECT_TRUE(copies(conv2d_kernel::tiled, "N1 C16 64x64 K16 3x3 p1"));
    // Winograd in one dispatch below 2 MiB of input with at most 64 input channels.
    EXPECT_TRUE(one("N1 C16 64x64 K16 3x3 p1"));     // 256 KiB
    EXPECT_TRUE(one("N1 C64 56x56 K64 3x3 p1"));     // 784 KiB
    EXPECT_TRUE(one("N1 C32 128x127 K16 3x3 p1"));   // 1.98 MiB
    EXPECT_FALSE(one("N1 C32 128x128 K16 3x3 p1"));  // 2 MiB
    EXPECT_FALSE(one("N8 C64 56x56 K64 3x3 p1"));
    EXPECT_FALSE(one("N1 C65 14x14 K64 3x3 p1"));
    EXPECT_FALSE(one("N1 C128 14x14 K128 3x3 p1"));
  }
}

// checks each threshold of every table one below and at its value: output channels (tiled ->
// gemm), input channels (tiled -> winograd), gemm_wide's tiles, winograd's one dispatch by input
// size and by channels, and the bus copies of tiled and winograd by input size
TEST(KernelChoice, EachRuleAtItsThreshold) {
  for (const kernel_tuning* t : all_tunings) {
    SCOPED_TRACE(t->name);
    // Output channels, on a 3x3 stride-2 shape (tiled's, not winograd's).
    conv2d_shape s = shape("N1 C8 16x16 K1 3x3 s2 p1");
    s.k = t->gemm_min_channels - 1;
    EXPECT_EQ(choose_kernel(s, *t), conv2d_kernel::tiled);
    s.k = t->gemm_min_channels;
    EXPECT_EQ(choose_kernel(s, *t), conv2d_kernel::gemm);
    // Input channels, few output channels, an input too large for one dispatch.
    conv2d_shape big = row_of_bytes(t->winograd_one_dispatch_below_bytes, 8);
    big.c = t->winograd_min_in_channels - 1;
    ASSERT_FALSE(winograd_in_one_dispatch(big, *t));
    EXPECT_EQ(choose_kernel(big, *t), conv2d_kernel::tiled);
    big.c = t->winograd_min_in_channels;
    EXPECT_EQ(choose_kernel(big, *t), conv2d_kernel::winograd);
    // Output channels alone take winograd too (1 input channel, a large input).
    big.c = 1;
    big.k = t->gemm_min_channels;
    EXPECT_EQ(choose_kernel(big, *t), conv2d_kernel::winograd);
    // gemm_wide's tiles: K 64 (one tile of channels), N P Q = 128 per pixel tile, 1x1 kernel.
    conv2d_shape wide = shape("N1 C1 1x128 K64 1x1");
    wide.w = static_cast<std::uint32_t>(128 * (t->gemm_wide_min_tiles - 1));
    EXPECT_EQ(choose_kernel(wide, *t), conv2d_kernel::gemm);
    wide.w = static_cast<std::uint32_t>(128 * t->gemm_wide_min_tiles);
    EXPECT_EQ(choose_kernel(wide, *t), conv2d_kernel::gemm_wide);
    // K 65: two tiles of channels, so half the pixel tiles; one pixel past a tile is a tile.
    ASSERT_EQ(t->gemm_wide_min_tiles % 2, 0u);
    wide.k = 65;
    wide.w = static_cast<std::uint32_t>(128 * (t->gemm_wide_min_tiles / 2 - 1));
    EXPECT_EQ(choose_kernel(wide, *t), conv2d_kernel::gemm);
    wide.w += 1;
    EXPECT_EQ(choose_kernel(wide, *t), conv2d_kernel::gemm_wide);
    // One dispatch by input size (4 bytes below, at) and by input channels (at, one above).
    EXPECT_TRUE(winograd_in_one_dispatch(row_of_bytes(t->winograd_one_dispatch_below_bytes - 4, 8), *t));
    EXPECT_FALSE(winograd_in_one_dispatch(row_of_bytes(t->winograd_one_dispatch_below_bytes, 8), *t));
    conv2d_shape channels = shape("N1 C1 8x8 K8 3x3 p1");
    channels.c = t->winograd_one_dispatch_max_in_channels;
    EXPECT_TRUE(winograd_in_one_dispatch(channels, *t));
    channels.c += 1;
    EXPECT_FALSE(winograd_in_one_dispatch(channels, *t));
    // Bus copies by input size; a threshold of 0 means always.
    for (const auto& [kernel, min_bytes] : {std::pair{conv2d_kernel::tiled, t->tiled_bus_copy_min_bytes},
                                            std::pair{conv2d_kernel::winograd, t->winograd_bus_copy_min_bytes}}) {
      SCOPED_TRACE(std::string(to_string(kernel)));
      if (min_bytes > 0) {
        EXPECT_FALSE(copies_over_bus(kernel, row_of_bytes(min_bytes - 4, 8), *t));
      }
      EXPECT_TRUE(copies_over_bus(kernel, row_of_bytes(std::max<std::uint64_t>(min_bytes, 4), 8), *t));
    }
  }
}

// checks the one rule the tables differ in: on few channels (below both channel thresholds) and a
// small input, the H100's table takes winograd in one dispatch, the others tiled; past the one
// dispatch's input size all three take tiled
TEST(KernelChoice, FewChannelsTakeWinogradOnlyOnNvidiaDiscrete) {
  const conv2d_shape small = shape("N1 C3 32x32 K16 3x3 p1");
  ASSERT_TRUE(winograd_in_one_dispatch(small, nvidia_discrete_tuning));
  EXPECT_EQ(choose_kernel(small, nvidia_discrete_tuning), conv2d_kernel::winograd);
  EXPECT_EQ(choose_kernel(small, other_discrete_tuning), conv2d_kernel::tiled);
  EXPECT_EQ(choose_kernel(small, uma_tuning), conv2d_kernel::tiled);
  // One below the input-size limit and at it, on the H100's table.
  const std::uint64_t limit = nvidia_discrete_tuning.winograd_one_dispatch_below_bytes;
  EXPECT_EQ(choose_kernel(row_of_bytes(limit - 4, 8), nvidia_discrete_tuning), conv2d_kernel::winograd);
  EXPECT_EQ(choose_kernel(row_of_bytes(limit, 8), nvidia_discrete_tuning), conv2d_kernel::tiled);
  // Off the one dispatch, a forced winograd runs in three on every table, and only winograd has
  // one dispatch at all.
  for (const kernel_tuning* t : all_tunings) {
    EXPECT_FALSE(plan_kernel(conv2d_kernel::winograd, row_of_bytes(limit, 8), *t, false)->one_dispatch) << t->name;
    EXPECT_FALSE(plan_kernel(conv2d_kernel::tiled, small, *t, false)->one_dispatch) << t->name;
    EXPECT_TRUE(plan_kernel(conv2d_kernel::winograd, small, *t, false)->one_dispatch) << t->name;
  }
}

// checks that an unmeasured discrete GPU runs every kernel between bus copies, whatever the input
// size, and that no plan copies when the input is not read over a bus
TEST(KernelChoice, OtherDiscreteAlwaysCopiesOverTheBus) {
  for (const char* text : {"N1 C1 1x1 K1 3x3 p1", "N1 C3 32x32 K16 3x3 p1", "N1 C16 64x64 K16 3x3 p1"}) {
    for (const conv2d_kernel kernel : {conv2d_kernel::direct, conv2d_kernel::tiled, conv2d_kernel::gemm,
                                       conv2d_kernel::gemm_wide, conv2d_kernel::winograd}) {
      SCOPED_TRACE(std::string(text) + " " + std::string(to_string(kernel)));
      EXPECT_TRUE(plan_kernel(kernel, shape(text), other_discrete_tuning, true)->bus_copies);
      for (const kernel_tuning* t : all_tunings) {
        EXPECT_FALSE(plan_kernel(kernel, shape(text), *t, false)->bus_copies) << t->name;
      }
    }
  }
  // The H100's table keeps small tiled and winograd inputs in place.
  EXPECT_FALSE(
      plan_kernel(conv2d_kernel::automatic, shape("N1 C3 32x32 K16 3x3 p1"), nvidia_discrete_tuning, true)->bus_copies);
}

// A random valid shape of any kind: grouped or not, 1x1 to 5x5 and rectangular kernels, strides
// and dilations 1 to 3, padding, batch.
conv2d_shape random_shape(std::mt19937_64& rng) {
  const auto pick = [&](std::uint32_t lo, std::uint32_t hi) {
    return std::uniform_int_distribution<std::uint32_t>(lo, hi)(rng);
  };
  const auto often = [&](std::uint32_t usual, std::uint32_t lo, std::uint32_t hi) {
    return pick(0, 1) == 0 ? usual : pick(lo, hi);
  };
  for (;;) {
    conv2d_shape s;
    s.groups = often(1, 2, 8);
    s.c = s.groups * pick(1, 40);
    s.k = s.groups * pick(1, 40);
    s.n = pick(1, 8);
    s.r = often(3, 1, 5);
    s.s = pick(0, 3) == 0 ? pick(1, 5) : s.r;
    s.stride_h = often(1, 2, 3);
    s.stride_w = pick(0, 3) == 0 ? pick(1, 3) : s.stride_h;
    s.dilation_h = often(1, 2, 3);
    s.dilation_w = pick(0, 3) == 0 ? pick(1, 3) : s.dilation_h;
    s.pad_h = pick(0, 2);
    s.pad_w = pick(0, 2);
    s.h = pick(1, 300);
    s.w = pick(1, 300);
    s.bias = pick(0, 1) == 1;
    if (s.validate()) return s;
  }
}

// checks on random shapes, every table and both bus settings, that the choice is a kernel that
// can run the shape (by the kernels' own rules, written out here: only direct for groups > 1,
// winograd only for 3x3 stride 1 dilation 1, tiled only for 1x1 or 3x3 with equal strides up to
// 2), that one dispatch goes only with winograd and bus copies only with a bus, that the H100's
// table differs from llvmpipe's only by the few-channel winograd rule, and that pick() agrees
TEST(KernelChoice, RandomShapesGetAKernelThatRunsThem) {
  std::mt19937_64 rng(20261207);
  int winograd = 0, tiled = 0, gemm = 0, gemm_wide = 0, direct = 0;
  for (int i = 0; i < 20000; ++i) {
    const conv2d_shape s = random_shape(rng);
    SCOPED_TRACE(s.to_string());
    const bool ungrouped = s.groups == 1;
    const bool no_dilation = s.dilation_h == 1 && s.dilation_w == 1;
    for (const kernel_tuning* t : all_tunings) {
      SCOPED_TRACE(t->name);
      const conv2d_kernel k = choose_kernel(s, *t);
      EXPECT_TRUE(conv2d_kernels::supports(k, s, gpu::capabilities{}));
      switch (k) {
        case conv2d_kernel::automatic: ADD_FAILURE() << "automatic is not a kernel"; break;
        case conv2d_kernel::direct:
          EXPECT_FALSE(ungrouped);
          ++direct;
          break;
        case conv2d_kernel::winograd:
          EXPECT_TRUE(ungrouped && no_dilation && s.r == 3 && s.s == 3 && s.stride_h == 1 && s.stride_w == 1);
          ++winograd;
          break;
        case conv2d_kernel::tiled:
          EXPECT_TRUE(ungrouped && no_dilation && s.r == s.s && (s.r == 1 || s.r == 3) && s.stride_h == s.stride_w &&
                      s.stride_h <= 2);
          EXPECT_LT(s.k, t->gemm_min_channels);
          ++tiled;
          break;
        case conv2d_kernel::gemm: ++gemm; [[fallthrough]];
        case conv2d_kernel::gemm_wide:
          EXPECT_TRUE(ungrouped);
          if (k == conv2d_kernel::gemm_wide) ++gemm_wide;
          break;
      }
      for (const bool bus : {false, true}) {
        const kernel_plan plan = *plan_kernel(conv2d_kernel::automatic, s, *t, bus);
        EXPECT_EQ(plan.kernel, k);
        EXPECT_TRUE(!plan.one_dispatch || k == conv2d_kernel::winograd);
        EXPECT_TRUE(!plan.bus_copies || bus);
      }
    }
    const conv2d_kernel on_h100 = choose_kernel(s, nvidia_discrete_tuning);
    const conv2d_kernel on_llvmpipe = choose_kernel(s, uma_tuning, llvmpipe().quirk.max_loop_iterations);
    if (on_h100 != on_llvmpipe) {
      EXPECT_EQ(on_h100, conv2d_kernel::winograd);
      EXPECT_EQ(on_llvmpipe, conv2d_kernel::tiled);
      EXPECT_TRUE(s.k < 32 && s.c < 16 && winograd_in_one_dispatch(s, nvidia_discrete_tuning));
    }
    EXPECT_EQ(conv2d_kernels::pick(s, h100()), on_h100);
    EXPECT_EQ(conv2d_kernels::pick(s, llvmpipe()), on_llvmpipe);
  }
  // The draw reaches every kernel, so each branch above was checked.
  EXPECT_GT(winograd, 0);
  EXPECT_GT(tiled, 0);
  EXPECT_GT(gemm, 0);
  EXPECT_GT(gemm_wide, 0);
  EXPECT_GT(direct, 0);
}

}  // namespace
}  // namespace detail
}  // namespace gpusoak::kernels
