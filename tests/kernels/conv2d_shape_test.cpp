// conv2d_shape: parsing, validation messages, output dimensions and FLOP counts.
#include "gpusoak/kernels/conv2d_shape.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

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

}  // namespace
}  // namespace gpusoak::kernels
