// exploratory
#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "conv2d_checks.hpp"
#include "gl_fixture.hpp"
#include "gpusoak/kernels/conv2d.hpp"

namespace gpusoak::kernels {
namespace {

TEST(Conv2dExplore, IssueShapes) {
  auto ctx = test::make_context();
  ASSERT_TRUE(ctx);
  auto kernels = conv2d_kernels::create(*ctx);
  ASSERT_TRUE(kernels) << kernels.error().message;
  std::mt19937_64 rng(1);
  const char* env = std::getenv("SHAPES");
  std::string list = env ? env : "N1 C4096 8x8 K16 3x3 p1";
  std::vector<std::string> shapes;
  for (size_t i = 0; i <= list.size();) {
    auto j = list.find(';', i);
    if (j == std::string::npos) j = list.size();
    shapes.push_back(list.substr(i, j - i));
    i = j + 1;
  }
  for (const auto& text : shapes) {
    auto shape = parse_conv2d_shape(text);
    ASSERT_TRUE(shape) << shape.error().message;
    for (auto kernel : {conv2d_kernel::direct, conv2d_kernel::tiled, conv2d_kernel::gemm, conv2d_kernel::gemm_wide,
                        conv2d_kernel::winograd}) {
      if (auto ok = conv2d_kernels::supports(kernel, *shape, ctx->caps()); !ok) { std::printf("%-36s %-10s refused: %s\n", text.c_str(), std::string(to_string(kernel)).c_str(), ok.error().message.c_str()); continue; }
      auto session = conv2d_session::create(*ctx, *kernels, *shape, {.path = conv2d_path::staging, .kernel = kernel});
      ASSERT_TRUE(session) << session.error().message;
      auto data = test::fill_weights(*session, rng);
      ASSERT_TRUE(session->commit_weights());
      ASSERT_TRUE(session->poison_outputs());
      std::vector<float> input(shape->input_elements());
      test::fill_random(input, rng);
      ASSERT_TRUE(session->write_input(input));
      auto out = session->run();
      ASSERT_TRUE(out);
      double e = test::conditioned_error(*shape, input, data, *out);
      std::printf("%-36s %-10s err %.3g\n", text.c_str(), std::string(to_string(kernel)).c_str(), e);
    }
  }
}

}  // namespace
}  // namespace gpusoak::kernels
