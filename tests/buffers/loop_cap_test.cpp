// The loop-iteration cap quirk (capabilities::quirk.max_loop_iterations) against the driver the
// test runs on: the cap the probe claims is the one the driver enforces, and a driver without a
// claimed cap runs long loops to the end.
#include <glad/gl.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "gl_fixture.hpp"
#include "gpusoak/buffers/compute_program.hpp"
#include "gpusoak/buffers/scratch_buffer.hpp"

namespace gpusoak::gpu {
namespace {

// One invocation counts the iterations it runs: `outer` times an inner loop of `inner`
// iterations (bounds from uniforms, so no compiler can fold them), and writes the count.
constexpr std::string_view counting_shader = R"(#version 450 core
layout(local_size_x = 1) in;
layout(std430, binding = 0) buffer result { int count; };
layout(location = 0) uniform int outer;
layout(location = 1) uniform int inner;
void main() {
  int n = 0;
  for (int i = 0; i < outer; ++i) {
    for (int j = 0; j < inner; ++j) n += 1;
  }
  count = n;
}
)";

class LoopCap : public ::testing::Test {
 protected:
  void SetUp() override {
    ctx_ = test::make_context();
    ASSERT_TRUE(ctx_);
    auto program = compute_program::create(*ctx_, counting_shader);
    ASSERT_TRUE(program) << program.error().message;
    program_ = std::move(*program);
    auto buffer = scratch_buffer::create(*ctx_, sizeof(std::int32_t), "test.loop_count");
    ASSERT_TRUE(buffer) << buffer.error().message;
    buffer_ = std::move(*buffer);
  }

  // The iterations one invocation ran of outer x inner.
  std::int64_t iterations_run(int outer, int inner) {
    glProgramUniform1i(program_.gl_name(), 0, outer);
    glProgramUniform1i(program_.gl_name(), 1, inner);
    glBindBufferBase(GL_SHADER_STORAGE_BUFFER, 0, buffer_.gl_name());
    program_.use();
    glDispatchCompute(1, 1, 1);
    glMemoryBarrier(GL_BUFFER_UPDATE_BARRIER_BIT);
    std::int32_t count = -1;
    glGetNamedBufferSubData(buffer_.gl_name(), 0, sizeof count, &count);
    return count;
  }

  std::unique_ptr<context> ctx_;
  compute_program program_;
  scratch_buffer buffer_;
};

// checks that a driver with a claimed cap stops a loop past it (so the kernels' splitting is
// needed) and runs loops within half of it, the share the conv2d kernels plan for, to the end;
// and that a driver without one runs 200,000 iterations
TEST_F(LoopCap, IsTheOneTheDriverEnforces) {
  const auto cap = ctx_->caps().quirk.max_loop_iterations;
  std::printf("renderer %s, %s: claimed cap %s\n", ctx_->caps().renderer.c_str(), ctx_->caps().version.c_str(),
              cap ? std::to_string(*cap).c_str() : "none");
  if (!cap) {
    EXPECT_EQ(iterations_run(1, 200000), 200000);
    EXPECT_EQ(iterations_run(400, 500), 200000);
    return;
  }
  const int over = static_cast<int>(*cap) + 1000;
  EXPECT_LT(iterations_run(1, over), over) << "the driver ran past the claimed cap: the quirk is stale";
  // Nested loops share the cap: 300 x 300 is 90,000 inner iterations.
  EXPECT_LT(iterations_run(300, 300), 90000);
  // What the kernels plan for (kernels/src/loop_budget.hpp): half the cap, every loop entry
  // costing its iterations plus two.
  const int half = static_cast<int>(*cap / 2);
  EXPECT_EQ(iterations_run(1, half - 4), half - 4);
  const int outer = half / (63 + 2 + 1);
  EXPECT_EQ(iterations_run(outer, 63), outer * 63);
}

}  // namespace
}  // namespace gpusoak::gpu
