// Session 11 experiment: does a GL copy from a persistent mapping into VRAM run faster when it is
// issued on a second, shared context on its own thread (where NVIDIA's GL may hand it to a copy
// engine, as CUDA's 54 GB/s copies are) than on the main context (47-48 GB/s in session 8)? And
// the read shader on the same mapping, for the side by side. 64 MiB per upload; every copy's bytes
// are checked afterwards.
#include <glad/gl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "gpusoak/buffers/context.hpp"
#include "read_every_byte.hpp"

namespace gpu = gpusoak::gpu;
using clk = std::chrono::steady_clock;
constexpr std::size_t upload = 64u << 20;
constexpr int trials = 15;

struct timing {
  double wall_gbps, gpu_gbps;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// `parts` copies of upload/parts bytes each from src to dst at `offset`, glFinish, per trial.
timing copies(GLuint src, GLuint dst, int parts, std::size_t offset = 0, std::size_t bytes = upload) {
  GLuint q;
  glGenQueries(1, &q);
  std::vector<double> wall, gpu_t;
  for (int t = 0; t < trials + 2; ++t) {
    const auto t0 = clk::now();
    glBeginQuery(GL_TIME_ELAPSED, q);
    const std::size_t chunk = bytes / parts;
    for (int p = 0; p < parts; ++p) glCopyNamedBufferSubData(src, dst, offset + p * chunk, offset + p * chunk, chunk);
    glEndQuery(GL_TIME_ELAPSED);
    glFinish();
    const double s = std::chrono::duration<double>(clk::now() - t0).count();
    GLuint64 ns = 0;
    glGetQueryObjectui64v(q, GL_QUERY_RESULT, &ns);
    if (t >= 2) {
      wall.push_back(bytes / s / 1e9);
      gpu_t.push_back(bytes / (ns * 1e-9) / 1e9);
    }
  }
  glDeleteQueries(1, &q);
  return {median(wall), median(gpu_t)};
}

int main() {
  auto main_ctx = gpu::context::create({.debug_output = false, .name = "main"});
  if (!main_ctx) {
    std::printf("no context: %s\n", main_ctx.error().message.c_str());
    return 1;
  }
  std::printf("renderer %s\n", reinterpret_cast<const char*>(glGetString(GL_RENDERER)));
  const GLbitfield mapped_flags = GL_MAP_WRITE_BIT | GL_MAP_PERSISTENT_BIT | GL_MAP_COHERENT_BIT;
  GLuint src = 0, src_client = 0, dst = 0;
  glCreateBuffers(1, &src);
  glNamedBufferStorage(src, upload, nullptr, mapped_flags);
  glCreateBuffers(1, &src_client);
  glNamedBufferStorage(src_client, upload, nullptr, mapped_flags | GL_CLIENT_STORAGE_BIT);
  glCreateBuffers(1, &dst);
  glNamedBufferStorage(dst, upload, nullptr, 0);
  auto* bytes = static_cast<std::uint32_t*>(glMapNamedBufferRange(src, 0, upload, mapped_flags));
  auto* bytes_client = static_cast<std::uint32_t*>(glMapNamedBufferRange(src_client, 0, upload, mapped_flags));
  std::mt19937 rng(std::random_device{}());
  std::vector<std::uint32_t> pattern(upload / 4);
  for (auto& w : pattern) w = rng();
  std::memcpy(bytes, pattern.data(), upload);
  std::memcpy(bytes_client, pattern.data(), upload);
  glFinish();

  auto reader = gpusoak::bench::detail::read_every_byte::create(**main_ctx, 64);
  if (!reader) return 1;
  {
    GLuint q;
    glGenQueries(1, &q);
    std::vector<double> g;
    for (int t = 0; t < trials + 2; ++t) {
      glBeginQuery(GL_TIME_ELAPSED, q);
      reader->dispatch(src, 0, upload, 0);
      glEndQuery(GL_TIME_ELAPSED);
      GLuint64 ns = 0;
      glGetQueryObjectui64v(q, GL_QUERY_RESULT, &ns);
      if (t >= 2) g.push_back(upload / (ns * 1e-9) / 1e9);
    }
    std::printf("%-44s gpu %6.2f GB/s\n", "read shader on the mapping (main)", median(g));
  }
  bool ok = true;
  const auto check = [&](const char* what) {
    std::vector<std::uint32_t> back(upload / 4, 0xdeadbeef);
    glGetNamedBufferSubData(dst, 0, upload, back.data());
    if (back != pattern) {
      std::printf("MISMATCH after %s\n", what);
      ok = false;
    }
    glClearNamedBufferData(dst, GL_R32UI, GL_RED_INTEGER, GL_UNSIGNED_INT, nullptr);  // poison: zeros
    glFinish();
  };
  for (int parts : {1, 4, 16}) {
    auto r = copies(src, dst, parts);
    std::printf("copy on main, %2d part(s)                     wall %6.2f gpu %6.2f GB/s\n", parts, r.wall_gbps,
                r.gpu_gbps);
    check("main copy");
  }
  auto rc = copies(src_client, dst, 1);
  std::printf("copy on main, client-storage source           wall %6.2f gpu %6.2f GB/s\n", rc.wall_gbps, rc.gpu_gbps);
  check("main client copy");

  // One shared context per thread: each issues its share of every upload.
  for (int threads : {1, 2, 4}) {
    for (int parts : {1, 4}) {
      std::vector<timing> got(threads);
      std::vector<std::thread> pool;
      const auto t0 = clk::now();
      for (int k = 0; k < threads; ++k) {
        pool.emplace_back([&, k] {
          auto c = gpu::context::create({.share_with = main_ctx->get(), .debug_output = false, .name = "copy"});
          if (!c) {
            std::printf("no shared context: %s\n", c.error().message.c_str());
            return;
          }
          const std::size_t share = upload / threads;
          got[k] = copies(src, dst, parts, k * share, share);
        });
      }
      for (auto& t : pool) t.join();
      const double s = std::chrono::duration<double>(clk::now() - t0).count();
      double sum_wall = 0, sum_gpu = 0;
      for (auto& g : got) sum_wall += g.wall_gbps, sum_gpu += g.gpu_gbps;
      std::printf(
          "copy on %d shared context(s), %d part(s) each    wall %6.2f gpu %6.2f GB/s (sum of threads; %.2f s)\n",
          threads, parts, sum_wall, sum_gpu, s);
      check("shared copy");
    }
  }
  std::printf("%s\n", ok ? "all copies checked" : "COPY MISMATCH");
  return ok ? 0 : 1;
}
