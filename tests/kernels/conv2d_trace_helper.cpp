// Test-only program for conv2d_zero_copy_test: sets up a conv2d session, then runs N hot-path
// iterations inside a KHR_debug group named "gpusoak.hot_path", so a trace of this process
// (apitrace) can be cut to exactly the hot path.
//
// usage: conv2d_trace_helper zero-copy|staging sync|pipelined ITERATIONS
// Exit 0 on success, 1 when a run fails or an output is not finite, 2 on bad arguments.
#include <glad/gl.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "gpusoak/kernels/conv2d.hpp"

using namespace gpusoak;

namespace {

constexpr const char* hot_path_group = "gpusoak.hot_path";

bool consume(kernels::conv2d_session& session, double& sum) {
  auto out = session.finish();
  if (!out) {
    std::fprintf(stderr, "finish: %s\n", out.error().message.c_str());
    return false;
  }
  for (const float v : *out) {
    if (!std::isfinite(v)) return false;
    sum += v;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s zero-copy|staging sync|pipelined ITERATIONS\n", argv[0]);
    return 2;
  }
  auto path = kernels::parse_conv2d_path(argv[1]);
  const std::string mode = argv[2];
  const int iterations = std::atoi(argv[3]);
  if (!path || (mode != "sync" && mode != "pipelined") || iterations < 1) {
    std::fprintf(stderr, "bad arguments\n");
    return 2;
  }
  auto ctx = gpu::context::create({.debug_output = false});
  if (!ctx) {
    std::fprintf(stderr, "no context: %s\n", ctx.error().message.c_str());
    return 1;
  }
  int status = 0;
  {
    auto kernels = kernels::conv2d_kernels::create(**ctx);
    auto shape = kernels::parse_conv2d_shape("N2 C8 16x16 K8 3x3 p1 bias");
    if (!kernels || !shape) return 1;
    auto session = kernels::conv2d_session::create(**ctx, *kernels, *shape,
                                                   {.path = *path, .pipeline_depth = mode == "sync" ? 1u : 3u});
    if (!session) {
      std::fprintf(stderr, "session: %s\n", session.error().message.c_str());
      return 1;
    }
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (float& v : session->weights()) v = dist(rng);
    for (float& v : session->bias()) v = dist(rng);
    if (!session->commit_weights() || !session->poison_outputs()) return 1;

    double sum = 0;
    glPushDebugGroup(GL_DEBUG_SOURCE_APPLICATION, 1, -1, hot_path_group);
    for (int i = 0; i < iterations && status == 0; ++i) {
      if (session->in_flight() == session->depth() && !consume(*session, sum)) status = 1;
      auto in = session->begin();
      if (!in) {
        std::fprintf(stderr, "begin: %s\n", in.error().message.c_str());
        status = 1;
        break;
      }
      for (float& v : *in) v = dist(rng);  // the producer writes in place
      if (!session->submit()) status = 1;
      if (mode == "sync" && status == 0 && !consume(*session, sum)) status = 1;
    }
    while (status == 0 && session->in_flight() > 0) {
      if (!consume(*session, sum)) status = 1;
    }
    glPopDebugGroup();
    std::printf("iterations %d sum %g\n", iterations, sum);
  }
  return status;
}
