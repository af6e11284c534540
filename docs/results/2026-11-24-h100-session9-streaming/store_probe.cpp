// Session 9 experiment: how fast can 16 threads fill 64 MiB, by store kind, in ordinary
// (mlocked) memory and in a persistent-coherent GL mapping? (torch fill_ writes pinned memory at
// 144-170 GB/s; our plain stores into the mapping took 1.5-3.9 ms.)
#include <immintrin.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "gpusoak/buffers/context.hpp"
#include "gpusoak/buffers/unified_buffer.hpp"

namespace gpu = gpusoak::gpu;
using clk = std::chrono::steady_clock;

enum kind { plain, stream, memset_, stosb, plain512, plain_unrolled };
const char* names[] = {"plain-avx2", "stream-avx2", "memset", "rep-stosb", "plain-avx512", "plain-avx2-x8"};

__attribute__((target("avx512f"))) void fill512(char* p, std::size_t n, int seed) {
  const __m512i v = _mm512_set1_epi32(seed);
  for (std::size_t i = 0; i < n; i += 256) {
    _mm512_store_si512(p + i, v);
    _mm512_store_si512(p + i + 64, v);
    _mm512_store_si512(p + i + 128, v);
    _mm512_store_si512(p + i + 192, v);
  }
}

void fill(char* p, std::size_t n, kind k, int seed) {
  switch (k) {
    case plain: {
      const __m256i v = _mm256_set1_epi32(seed);
      for (std::size_t i = 0; i < n; i += 32) _mm256_store_si256(reinterpret_cast<__m256i*>(p + i), v);
      break;
    }
    case stream: {
      const __m256i v = _mm256_set1_epi32(seed);
      for (std::size_t i = 0; i < n; i += 32) _mm256_stream_si256(reinterpret_cast<__m256i*>(p + i), v);
      _mm_sfence();
      break;
    }
    case memset_: std::memset(p, seed, n); break;
    case plain512: fill512(p, n, seed); break;
    case plain_unrolled: {
      const __m256i v = _mm256_set1_epi32(seed);
      for (std::size_t i = 0; i < n; i += 256) {
        for (int j = 0; j < 8; ++j) _mm256_store_si256(reinterpret_cast<__m256i*>(p + i + 32 * j), v);
      }
      break;
    }
    case stosb: {
      void* d = p;
      std::size_t c = n;
      asm volatile("rep stosb" : "+D"(d), "+c"(c) : "a"(seed) : "memory");
      break;
    }
  }
}

double run(char* base, std::size_t size, int threads, kind k, int seed) {
  // Threads start together after all are up; the time is first start to last end, so thread
  // creation is not in it.
  std::vector<std::thread> ts;
  std::vector<clk::time_point> starts(threads), ends(threads);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  const std::size_t part = size / threads / 4096 * 4096;  // the tail past threads * part is left alone
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) {
      }
      starts[t] = clk::now();
      fill(base + t * part, part, k, seed);
      ends[t] = clk::now();
    });
  }
  while (ready.load() < threads) {
  }
  go.store(true, std::memory_order_release);
  for (auto& t : ts) t.join();
  return std::chrono::duration<double>(*std::max_element(ends.begin(), ends.end()) -
                                       *std::min_element(starts.begin(), starts.end()))
      .count();
}

void probe(const char* where, char* base, std::size_t size) {
  for (int threads : {16}) {
    for (kind k : {plain, plain_unrolled, plain512, stream, memset_, stosb}) {
      std::vector<double> s;
      for (int r = 0; r < 7; ++r) s.push_back(run(base, size, threads, k, r + 1));
      std::sort(s.begin(), s.end());
      std::printf("%-10s threads %2d %-12s median %7.1f GB/s (min time %6.3f ms, max %6.3f ms)\n", where, threads,
                  names[k], (size / threads / 4096 * 4096) * threads / s[3] / 1e9, s[0] * 1e3, s.back() * 1e3);
    }
  }
}

int main() {
  const std::size_t size = std::size_t{64} << 20;
  char* mem = static_cast<char*>(std::aligned_alloc(4096, size));
  std::memset(mem, 0, size);
  mlock(mem, size);
  probe("malloc", mem, size);
  auto ctx = gpu::context::create({});
  if (!ctx) {
    std::printf("no context: %s\n", ctx.error().message.c_str());
    return 1;
  }
  for (auto s : {gpu::strategy::persistent_coherent, gpu::strategy::persistent_flush}) {
    auto buf = gpu::unified_buffer::create(
        **ctx,
        {.size = size, .use = gpu::usage::stream_to_gpu, .preferred = s, .allow_fallback = false, .tag = "probe"});
    if (!buf) {
      std::printf("no buffer: %s\n", buf.error().message.c_str());
      continue;
    }
    char* p = reinterpret_cast<char*>(buf->cpu_view().data());
    probe(s == gpu::strategy::persistent_coherent ? "gl-coh" : "gl-flush", p, size);
  }
  std::free(mem);
  return 0;
}
