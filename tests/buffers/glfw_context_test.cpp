// The GLFW backend: a hidden window's context (run under xvfb-run; needs a display).
#include <glad/gl.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "gl_fixture.hpp"
#include "gpu_checks.hpp"
#include "gpusoak/buffers/unified_buffer.hpp"

namespace gpusoak::gpu {
namespace {

// checks that a hidden GLFW window gives GL 4.5 and a buffer round-trips through a shader
TEST(GlfwContext, HiddenWindowRoundTrips) {
  ASSERT_NE(std::getenv("DISPLAY"), nullptr) << "no DISPLAY: run this test under xvfb-run";
  auto ctx = test::make_context({.which = backend::glfw_hidden, .name = "glfw"});
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->which(), backend::glfw_hidden);
  EXPECT_GE(ctx->caps().limit.gl_major * 10 + ctx->caps().limit.gl_minor, 45);
  test::gpu_checks checks(*ctx);
  auto buffer = unified_buffer::create(*ctx, {.size = 10000, .use = usage::stream_to_gpu, .tag = "glfw"});
  ASSERT_TRUE(buffer) << buffer.error().message;
  for (std::size_t i = 0; i < buffer->size(); ++i)
    buffer->cpu_view()[i] = std::byte(static_cast<unsigned char>(i * 13 + 5));
  ASSERT_TRUE(buffer->make_visible_to_gpu());
  EXPECT_EQ(checks.checksum(buffer->gl_name(), 0, buffer->size()), test::cpu_checksum(buffer->cpu_view()));
}

// checks that a GLFW context refuses to share with an EGL one, with a message
TEST(GlfwContext, RefusesCrossBackendSharing) {
  auto egl = test::make_context({.name = "egl"});
  ASSERT_TRUE(egl);
  auto made = context::create({.which = backend::glfw_hidden, .share_with = egl.get()});
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error().kind, error_kind::validation);
}

}  // namespace
}  // namespace gpusoak::gpu
