// conv2d_shape: parsing, validation messages, output dimensions and FLOP counts.
#include "gpusoak/kernels/conv2d_shape.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>

#include "conv2d_checks.hpp"  // test_seed

namespace gpusoak::kernels {
namespace {

// checks that the benchmark's shape strings parse into the fields they name
TEST(Conv2dShape, ParsesTheBenchmarkFamilies) {
  auto shape = parse_conv2d_shape("N32 C128 28x28 K128 3x3");
  ASSERT_TRUE(shape) << shape.error().message;
  EXPECT_EQ(shape->n, 32u);
  EXPECT_EQ(shape->c, 128u);
  EXPECT_EQ(shape->h, 28u);
  EXPECT_EQ(shape->w, 28u);
  EXPECT_EQ(shape->k, 128u);
  EXPECT_EQ(shape->r, 3u);
  EXPECT_EQ(shape->s, 3u);
  EXPECT_EQ(shape->groups, 1u);
  EXPECT_FALSE(shape->bias);
  EXPECT_EQ(shape->p(), 26u);  // no padding unless asked for

  auto one = parse_conv2d_shape("N1 C256 14x14 K256 1x1");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->p(), 14u);
  EXPECT_DOUBLE_EQ(one->flops(), 2.0 * 256 * 14 * 14 * 256);
}

// checks the optional tokens, asymmetric pairs and that N defaults to 1
TEST(Conv2dShape, ParsesOptionalTokens) {
  auto shape = parse_conv2d_shape("C16 20x9 K8 3x5 s2x1 p1x2 d2 g4 bias");
  ASSERT_TRUE(shape) << shape.error().message;
  EXPECT_EQ(shape->n, 1u);
  EXPECT_EQ(shape->stride_h, 2u);
  EXPECT_EQ(shape->stride_w, 1u);
  EXPECT_EQ(shape->pad_h, 1u);
  EXPECT_EQ(shape->pad_w, 2u);
  EXPECT_EQ(shape->dilation_h, 2u);
  EXPECT_EQ(shape->dilation_w, 2u);
  EXPECT_EQ(shape->groups, 4u);
  EXPECT_TRUE(shape->bias);
  // P = (20 + 2 - 2*2 - 1) / 2 + 1 = 9; Q = (9 + 4 - 2*4 - 1) / 1 + 1 = 5
  EXPECT_EQ(shape->p(), 9u);
  EXPECT_EQ(shape->q(), 5u);
  EXPECT_EQ(shape->weight_elements(), 8u * 4 * 3 * 5);
  EXPECT_DOUBLE_EQ(shape->flops(), 2.0 * 1 * 8 * 9 * 5 * 4 * 3 * 5);
}

// checks that to_string is read back to the same shape
TEST(Conv2dShape, RoundTripsThroughText) {
  for (const char* text : {"N1 C3 32x32 K16 3x3", "N2 C6 7x11 K9 5x3 s2x3 p1 d1x2 g3 bias", "N1 C8 8x8 K8 3x3 g8"}) {
    auto shape = parse_conv2d_shape(text);
    ASSERT_TRUE(shape) << text << ": " << shape.error().message;
    auto again = parse_conv2d_shape(shape->to_string());
    ASSERT_TRUE(again) << shape->to_string();
    EXPECT_EQ(*again, *shape) << shape->to_string();
  }
}

// checks that parse errors name the offending token
TEST(Conv2dShape, ErrorsNameTheBadToken) {
  const std::pair<const char*, const char*> cases[] = {
      {"N1 C3 32x32 K16 3x3 q3", "'q3'"},
      {"N1 Cx 32x32 K16 3x3", "'Cx'"},
      {"N1 C3 32x32 K16 3x3 s2x", "'s2x'"},
      {"N1 C3 32x32 K16 3x3 1x1", "'1x1'"},
      {"N1 C3 32x K16 3x3", "'32x'"},
      {"N1 C3 32x32 3x3", "K<output channels> is missing"},
      {"N1 C16 8x8 K16 3x3 g3", "groups 3 does not divide channels 16"},
  };
  for (const auto& [text, needle] : cases) {
    auto shape = parse_conv2d_shape(text);
    ASSERT_FALSE(shape) << text;
    EXPECT_EQ(shape.error().kind, gpu::error_kind::validation);
    EXPECT_NE(shape.error().message.find(needle), std::string::npos) << text << " -> " << shape.error().message;
  }
}

// checks that validate() names the field and its value
TEST(Conv2dShape, ValidationNamesTheField) {
  const std::pair<conv2d_shape, const char*> cases[] = {
      {{.c = 16, .h = 8, .w = 8, .k = 16, .groups = 3}, "groups 3 does not divide channels 16"},
      {{.c = 6, .h = 8, .w = 8, .k = 4, .groups = 3}, "groups 3 does not divide output channels 4"},
      {{.c = 1, .h = 4, .w = 8, .k = 1, .r = 5, .s = 1}, "kernel height 5"},
      {{.c = 1, .h = 8, .w = 8, .k = 1, .r = 3, .s = 3, .dilation_w = 4}, "kernel width 3 with dilation 4"},
      {{.n = 0}, "n 0"},
      {{.stride_w = 0}, "stride_w 0"},
      {{.n = 4096, .c = 1024, .h = 32, .w = 32}, "32-bit indexing"},
      {{.stride_h = 3000000000u}, "stride_h 3000000000: more than 2143289344"},
      {{.dilation_w = 4294967295u}, "dilation_w 4294967295: more than 2143289344"},
      {{.h = 4, .w = 4, .pad_h = 4294967295u}, "pad_h 4294967295: more than 1071644670"},
  };
  for (const auto& [shape, needle] : cases) {
    auto valid = shape.validate();
    ASSERT_FALSE(valid) << shape.to_string();
    EXPECT_NE(valid.error().message.find(needle), std::string::npos) << valid.error().message;
  }
  EXPECT_TRUE((conv2d_shape{.c = 1, .h = 4, .w = 4, .k = 1, .r = 5, .s = 5, .pad_h = 1, .pad_w = 1}.validate()));
}

// checks that element counts past 2^64 are refused, not wrapped around to something small
// (regression: n*c*h*w = 2^64 wrapped to 0 and this shape validated; found writing fuzz/)
TEST(Conv2dShape, HugeCountsDoNotWrap) {
  const auto huge = parse_conv2d_shape("N65536 C65536 65536x65536 K65536 1x1 g65536");
  ASSERT_FALSE(huge);
  EXPECT_NE(huge.error().message.find("input has 18446744073709551615 elements"), std::string::npos)
      << huge.error().message;
  const conv2d_shape shape{.n = 65536, .c = 65536, .h = 65536, .w = 65536, .k = 65536, .groups = 65536};
  EXPECT_EQ(shape.input_elements(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(shape.output_elements(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(shape.weight_elements(), 65536u);
}

// checks that the shapes that used to truncate to 32 bits are validation errors naming the field
// and its bound, and that p() and q() keep the whole 64-bit extent (p4294967295 on a 4x4 input
// validated as P = Q = 4 and ran as a crop; p2147483648 gave zeros; stride reached the shaders as
// a negative int)
TEST(Conv2dShape, OverflowShapesAreValidationErrorsNamingTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {"N1 C1 4x4 K1 1x1 p4294967295", "pad_h 4294967295: more than 1071644670, the largest the shaders' 32-bit"},
      {"N1 C1 4x4 K1 1x1 p2147483648", "pad_h 2147483648: more than 1071644670"},
      {"N1 C1 4x4 K1 1x1 p0x2147483648", "pad_w 2147483648: more than 1071644670"},
      {"N1 C1 4x4 K1 1x1 s4294967295x1 p4294967295x0", "stride_h 4294967295: more than 2143289344"},
      {"N1 C1 4x4 K1 1x1 s3000000000x1", "stride_h 3000000000: more than 2143289344"},
      {"N1 C1 4x4 K1 1x1 d1x2147483648", "dilation_w 2147483648: more than 2143289344"},
      {"N1 C1 2147483647x1 K1 1x1", "h 2147483647: more than 2143289344"},
      {"N1 C1 8x8 K1 1x1 s100000 p1000000",
       "pad_h 1000000 and pad_w 1000000: the padded input N*C*(H + 2*pad_h)*(W + 2*pad_w) has 4000032000064 elements"},
  };
  for (const auto& [text, needle] : cases) {
    auto shape = parse_conv2d_shape(text);
    ASSERT_FALSE(shape) << text;
    EXPECT_EQ(shape.error().kind, gpu::error_kind::validation);
    EXPECT_NE(shape.error().message.find(needle), std::string::npos) << text << " -> " << shape.error().message;
  }
  const conv2d_shape wide{.h = 4, .w = 4, .pad_h = 4294967295u, .pad_w = 4294967295u};
  EXPECT_EQ(wide.p(), 4ull + 2 * 4294967295ull);  // not 4: nothing cut to 32 bits
  EXPECT_EQ(wide.q(), 4ull + 2 * 4294967295ull);
  const conv2d_shape far{.h = 4, .w = 4, .r = 4294967295u, .dilation_h = 4294967295u};
  EXPECT_EQ(far.p(), 0u);  // spans ~2^64 rows: no wrap to something that fits
}

// One bound of validate(): `at` gives a random shape exactly at it, which must validate (or, for a
// bound the others make unreachable, hit only later checks); `past` the same shape one step past
// it, which must fail naming `needle`.
struct bound_case {
  const char* name;
  std::function<conv2d_shape(std::mt19937_64&)> at;
  std::function<void(conv2d_shape&)> past;
  std::string needle;
};

// checks each bound of validate() on random shapes: at the bound the shape validates, one past it
// the error names the field (or count) and the bound
TEST(Conv2dShape, RandomShapesAtAndJustPastEachBound) {
  std::mt19937_64 rng(test::test_seed());
  constexpr std::uint64_t L = shader_index_limit;
  const auto small = [](std::mt19937_64& g, std::uint32_t most) {
    return std::uniform_int_distribution<std::uint32_t>(1, most)(g);
  };
  const auto u32 = [](std::uint64_t v) { return static_cast<std::uint32_t>(v); };
  const std::vector<bound_case> cases = {
      {"stride_h", [&](auto& g) { return conv2d_shape{.h = small(g, 64), .w = small(g, 64), .stride_h = u32(L)}; },
       [](conv2d_shape& s) { ++s.stride_h; }, "stride_h 2143289345: more than 2143289344"},
      {"stride_w", [&](auto& g) { return conv2d_shape{.h = small(g, 64), .w = small(g, 64), .stride_w = u32(L)}; },
       [](conv2d_shape& s) { ++s.stride_w; }, "stride_w 2143289345: more than 2143289344"},
      {"dilation_h", [&](auto& g) { return conv2d_shape{.h = small(g, 64), .w = small(g, 64), .dilation_h = u32(L)}; },
       [](conv2d_shape& s) { ++s.dilation_h; }, "dilation_h 2143289345: more than 2143289344"},
      {"dilation_w", [&](auto& g) { return conv2d_shape{.h = small(g, 64), .w = small(g, 64), .dilation_w = u32(L)}; },
       [](conv2d_shape& s) { ++s.dilation_w; }, "dilation_w 2143289345: more than 2143289344"},
      // H + 2*pad_h = L at most: one row per output (stride) keeps the output small.
      {"pad_h",
       [&](auto& g) {
         const std::uint32_t h = small(g, 1000);
         return conv2d_shape{.h = h, .stride_h = u32(L), .pad_h = u32((L - h) / 2)};
       },
       [](conv2d_shape& s) { ++s.pad_h; }, "pad_h"},
      {"pad_w",
       [&](auto& g) {
         const std::uint32_t w = small(g, 1000);
         return conv2d_shape{.w = w, .stride_w = u32(L), .pad_w = u32((L - w) / 2)};
       },
       [](conv2d_shape& s) { ++s.pad_w; }, "pad_w"},
      {"input",
       [&](auto& g) {
         conv2d_shape s{.n = small(g, 8), .c = small(g, 8), .h = 1 + small(g, 7)};  // w + 1 stays <= L
         s.w = u32(L / (std::uint64_t{s.n} * s.c * s.h));
         s.k = 1;
         return s;
       },
       [](conv2d_shape& s) { ++s.w; }, "input has"},
      {"weights",
       [&](auto& g) {
         conv2d_shape s{.c = 1 + small(g, 7), .r = small(g, 5), .s = small(g, 5)};  // k + 1 stays <= L
         s.h = s.r;
         s.w = s.s;
         s.k = u32(L / (std::uint64_t{s.c} * s.r * s.s));
         return s;
       },
       [](conv2d_shape& s) { ++s.k; }, "weights has"},
      {"output",
       [&](auto& g) {
         conv2d_shape s{.n = small(g, 4), .h = small(g, 4), .k = 2 + small(g, 6)};
         s.w = u32(L / (std::uint64_t{s.n} * s.k * s.h));
         return s;
       },
       [](conv2d_shape& s) { ++s.w; }, "output has"},
      // N*C*(H + 2*pad_h)*W = L at most, with few outputs (stride) and the input itself small.
      {"padded input",
       [&](auto& g) {
         // w >= 2: the padded input, not pad_h's own bound, is what binds
         conv2d_shape s{.n = small(g, 4), .c = small(g, 4), .h = small(g, 16), .w = 1 + small(g, 15)};
         const std::uint64_t rows = L / (std::uint64_t{s.n} * s.c * s.w);
         s.pad_h = u32((rows - s.h) / 2);
         s.stride_h = u32(L);
         s.stride_w = u32(L);
         return s;
       },
       [](conv2d_shape& s) { ++s.pad_h; }, "padded input"},
  };
  for (const bound_case& c : cases) {
    for (int trial = 0; trial < 20; ++trial) {
      conv2d_shape shape = c.at(rng);
      const auto at = shape.validate();
      EXPECT_TRUE(at) << c.name << " at the bound: " << shape.to_string() << ": " << at.error().message;
      c.past(shape);
      const auto past = shape.validate();
      ASSERT_FALSE(past) << c.name << " past the bound validated: " << shape.to_string();
      EXPECT_NE(past.error().message.find(c.needle), std::string::npos)
          << c.name << ": " << shape.to_string() << " -> " << past.error().message;
    }
  }
  // The pad bound depends on the height: its message says both.
  const conv2d_shape past_pad{.h = 7, .stride_h = u32(L), .pad_h = u32((L - 7) / 2 + 1)};
  EXPECT_EQ(past_pad.validate().error().message,
            "pad_h 1071644669: more than 1071644668, the largest the shaders' 32-bit arithmetic holds with height 7 "
            "(height + 2 * pad_h must stay within 2143289344)");
}

}  // namespace
}  // namespace gpusoak::kernels
