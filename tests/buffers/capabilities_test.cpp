// Vendor classification, quirks, masks, and the probe on a real context.
#include "gpusoak/buffers/capabilities.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "gl_fixture.hpp"

namespace gpusoak::gpu {
namespace {

// checks classification against renderer strings real drivers report
TEST(Capabilities, ClassifiesRealDriverStrings) {
  EXPECT_EQ(classify_vendor("NVIDIA Corporation", "NVIDIA H100 80GB HBM3/PCIe/SSE2"), vendor_class::nvidia);
  EXPECT_EQ(classify_vendor("Mesa", "llvmpipe (LLVM 15.0.6, 256 bits)"), vendor_class::mesa_software);
  EXPECT_EQ(classify_vendor("AMD", "AMD Radeon RX 7900 XTX (radeonsi, navi31, LLVM 15.0.7, DRM 3.54)"),
            vendor_class::amd);
  EXPECT_EQ(classify_vendor("Intel", "Mesa Intel(R) UHD Graphics 620 (KBL GT2)"), vendor_class::intel);
  EXPECT_EQ(classify_vendor("ARM", "Mali-G78"), vendor_class::arm);
  EXPECT_EQ(classify_vendor("Qualcomm", "Adreno (TM) 650"), vendor_class::qualcomm);
  EXPECT_EQ(classify_vendor("Imagination Technologies", "PowerVR B-Series BXM-8-256"), vendor_class::other);
}

// checks UMA and quirks derived from the strings, each quirk on its named driver only
TEST(Capabilities, DerivesUmaAndQuirks) {
  capabilities h100{.vendor = "NVIDIA Corporation",
                    .renderer = "NVIDIA H100 80GB HBM3/PCIe/SSE2",
                    .version = "4.5.0 NVIDIA 580.159.04"};
  derive_platform_facts(h100);
  EXPECT_FALSE(h100.uma);
  EXPECT_FALSE(h100.quirk.pinned_memory_unreliable);
  EXPECT_FALSE(h100.quirk.client_storage_is_host);

  capabilities radeonsi{.vendor = "AMD",
                        .renderer = "AMD Radeon RX 6800 (radeonsi, navi21)",
                        .version = "4.6 (Core Profile) Mesa 22.3.6"};
  derive_platform_facts(radeonsi);
  EXPECT_FALSE(radeonsi.uma);
  EXPECT_TRUE(radeonsi.quirk.pinned_memory_unreliable);
  EXPECT_TRUE(radeonsi.quirk.client_storage_is_host);

  capabilities apu{.vendor = "AMD", .renderer = "AMD Radeon Graphics (radeonsi, renoir)", .version = "Mesa"};
  derive_platform_facts(apu);
  EXPECT_TRUE(apu.uma);

  capabilities adreno{.vendor = "Qualcomm", .renderer = "Adreno (TM) 650", .version = "OpenGL ES 3.2 V@0502.0"};
  derive_platform_facts(adreno);
  EXPECT_TRUE(adreno.uma);
  EXPECT_TRUE(adreno.quirk.explicit_flush_broken);

  capabilities llvmpipe{
      .vendor = "Mesa", .renderer = "llvmpipe (LLVM 15.0.6, 256 bits)", .version = "4.5 (Core Profile) Mesa 22.3.6"};
  derive_platform_facts(llvmpipe);
  EXPECT_TRUE(llvmpipe.uma);
  EXPECT_FALSE(llvmpipe.quirk.explicit_flush_broken);
}

// checks mask parsing: every token, whitespace, empty, and a clear error for unknown tokens
TEST(Capabilities, ParsesMasks) {
  auto all = parse_capability_mask(" buffer_storage, coherent ,pinned");
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_TRUE(all->buffer_storage && all->coherent && all->pinned);
  auto none = parse_capability_mask("");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->any());
  auto bad = parse_capability_mask("coherent,persistant");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("'persistant'"), std::string::npos);
  EXPECT_NE(bad.error().message.find("buffer_storage, coherent, pinned"), std::string::npos);
  // The text may come from a flag: only the environment reader names GPUSOAK_DISABLE.
  EXPECT_EQ(bad.error().message.find("GPUSOAK_DISABLE"), std::string::npos) << bad.error().message;
}

// checks that a bad GPUSOAK_DISABLE is an error naming the variable, the token and the allowed
// ones, and that unset means no mask
TEST(Capabilities, EnvironmentMaskErrorsNameTheVariable) {
  ASSERT_EQ(setenv("GPUSOAK_DISABLE", "coherant", 1), 0);
  auto bad = capability_mask_from_env();
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("GPUSOAK_DISABLE: ", 0), 0u) << bad.error().message;
  EXPECT_NE(bad.error().message.find("'coherant'"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("buffer_storage, coherent, pinned"), std::string::npos) << bad.error().message;
  ASSERT_EQ(setenv("GPUSOAK_DISABLE", "coherent", 1), 0);
  auto good = capability_mask_from_env();
  ASSERT_TRUE(good);
  EXPECT_TRUE(good->coherent && !good->buffer_storage && !good->pinned);
  ASSERT_EQ(unsetenv("GPUSOAK_DISABLE"), 0);
  auto none = capability_mask_from_env();
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->any());
}

// checks that the probe on the real context reports a usable GL 4.5 with sane limits
TEST(Capabilities, ProbesTheRealContext) {
  auto ctx = test::make_context();
  ASSERT_TRUE(ctx);
  const capabilities& caps = ctx->caps();
  EXPECT_GE(caps.limit.gl_major * 10 + caps.limit.gl_minor, 45);
  EXPECT_FALSE(caps.renderer.empty());
  EXPECT_TRUE(caps.ext.ARB_buffer_storage);
  EXPECT_TRUE(caps.coherent_mapping);
  for (std::int64_t alignment : {caps.limit.min_map_buffer_alignment, caps.limit.ssbo_offset_alignment}) {
    EXPECT_GT(alignment, 0);
    EXPECT_EQ(alignment & (alignment - 1), 0) << alignment << " is not a power of two";
  }
  EXPECT_EQ(caps.vendor_kind, classify_vendor(caps.vendor, caps.renderer));
  EXPECT_GT(ctx->budget().limit(), 0u);
}

// checks that a mask given to the context reaches its capabilities and is recorded
TEST(Capabilities, ContextAppliesMask) {
  auto ctx = test::make_context({.mask = {.buffer_storage = true}});
  ASSERT_TRUE(ctx);
  EXPECT_FALSE(ctx->caps().ext.ARB_buffer_storage);
  EXPECT_FALSE(ctx->caps().coherent_mapping);
  EXPECT_EQ(ctx->caps().masked, "buffer_storage");
}

}  // namespace
}  // namespace gpusoak::gpu
