#include "producer.hpp"

#include <immintrin.h>
#include <algorithm>
#include <bit>
#include <cstring>

namespace gpusoak::bench::detail {
namespace {

static_assert(std::endian::native == std::endian::little, "the shader's word order assumes little endian");

// A Weyl sequence: word i is start(seed) + i * step. Consecutive seeds give unrelated-looking
// words, so data left over from an earlier upload does not pass the checksum by accident.
constexpr std::uint64_t step = 0x9e3779b97f4a7c15ull;
constexpr std::uint64_t start(std::uint64_t seed) noexcept {
  return (seed + 1) * 0xd1b54a32d192ed03ull;
}

// Words [first, last) of the pattern of `seed` (word i is start + i * step, wrapping).
void produce_words_plain(std::uint64_t* out, std::size_t first, std::size_t last, std::uint64_t seed) noexcept {
  std::uint64_t value = start(seed) + first * step;
  for (std::size_t i = first; i < last; ++i) {
    out[i] = value;
    value += step;
  }
}

// The same words with 32-byte non-temporal stores. The NVIDIA driver's persistent mapping is
// write-back memory, not write-combined: a plain store first reads its line in (read for
// ownership), a streaming store does not. On the H100 host one core wrote 64 MiB in 9.4 ms
// with plain stores and 3.7 with these, 16 cores in 1.2–1.8 and 0.56–0.91 ms. The sfence makes
// the weakly ordered stores visible before whatever the caller does next (the pool's release,
// the flush that publishes the buffer).
__attribute__((target("avx2"))) void produce_words_streaming(std::uint64_t* out, std::size_t first, std::size_t last,
                                                             std::uint64_t seed) noexcept {
  constexpr std::size_t lane_words = sizeof(__m256i) / sizeof(std::uint64_t);
  std::size_t i = first;
  while (i < last && std::bit_cast<std::uintptr_t>(out + i) % sizeof(__m256i) != 0) ++i;
  produce_words_plain(out, first, i, seed);  // up to the first 32-byte boundary
  // The intrinsics take signed lanes; the words wrap as unsigned: the same bits either way.
  const auto word = [&](std::size_t k) { return std::bit_cast<long long>(std::uint64_t{start(seed) + k * step}); };
  __m256i lanes = _mm256_set_epi64x(word(i + 3), word(i + 2), word(i + 1), word(i));
  const __m256i advance = _mm256_set1_epi64x(std::bit_cast<long long>(std::uint64_t{lane_words * step}));
  for (; i + lane_words <= last; i += lane_words) {
    _mm256_stream_si256(reinterpret_cast<__m256i*>(out + i), lanes);
    lanes = _mm256_add_epi64(lanes, advance);
  }
  produce_words_plain(out, i, last, seed);  // the last < 4 words
  _mm_sfence();
}

// The same words with plain 64-byte stores, each line prefetched for ownership 16 lines ahead so
// the reads that plain stores cost (read for ownership) overlap. Lines stay in the cache. On the
// H100 host 16 threads wrote 64 MiB in 0.6-1.2 ms this way and 0.8-1.7 without the prefetch;
// 16, 32 and 64 lines ahead measured alike. A prefetch for writing is `prefetchw` with prfchw
// (GCC and Clang both emit it; Clang's headers lack _m_prefetchw under a target attribute).
__attribute__((target("avx512f,prfchw"))) void produce_words_cached(std::uint64_t* out, std::size_t first,
                                                                    std::size_t last, std::uint64_t seed) noexcept {
  constexpr std::size_t line_words = sizeof(__m512i) / sizeof(std::uint64_t);
  constexpr std::size_t prefetch_words = 16 * line_words;
  std::size_t i = first;
  while (i < last && std::bit_cast<std::uintptr_t>(out + i) % sizeof(__m512i) != 0) ++i;
  produce_words_plain(out, first, i, seed);  // up to the first line boundary
  const auto word = [&](std::size_t k) { return std::bit_cast<long long>(std::uint64_t{start(seed) + k * step}); };
  __m512i lanes = _mm512_set_epi64(word(i + 7), word(i + 6), word(i + 5), word(i + 4), word(i + 3), word(i + 2),
                                   word(i + 1), word(i));
  const __m512i advance = _mm512_set1_epi64(std::bit_cast<long long>(std::uint64_t{line_words * step}));
  for (; i + line_words <= last; i += line_words) {
    if (i + prefetch_words < last) __builtin_prefetch(out + i + prefetch_words, 1);
    _mm512_store_si512(reinterpret_cast<__m512i*>(out + i), lanes);
    lanes = _mm512_add_epi64(lanes, advance);
  }
  produce_words_plain(out, i, last, seed);  // the last < 8 words
}

void produce_words(std::uint64_t* out, std::size_t first, std::size_t last, std::uint64_t seed,
                   store_kind stores) noexcept {
  if (stores == store_kind::through_cache && __builtin_cpu_supports("avx512f")) {
    produce_words_cached(out, first, last, seed);
  } else if (stores == store_kind::bypass_cache && __builtin_cpu_supports("avx2")) {
    produce_words_streaming(out, first, last, seed);
  } else {
    produce_words_plain(out, first, last, seed);
  }
}

}  // namespace

namespace {

// The bytes past the last whole word (< 8): the start of the next word of the pattern.
void produce_tail(std::span<std::byte> bytes, std::uint64_t seed) noexcept {
  const std::size_t words = bytes.size() / sizeof(std::uint64_t);
  if (const std::size_t tail = bytes.size() % sizeof(std::uint64_t); tail != 0) {
    const std::uint64_t value = start(seed) + words * step;
    std::memcpy(bytes.data() + words * sizeof(std::uint64_t), &value, tail);
  }
}

}  // namespace

void produce(std::span<std::byte> bytes, std::uint64_t seed, store_kind stores) noexcept {
  // Mappings, host shadows and ring segments are at least 64-byte aligned; std::byte storage
  // handed out by GL is where these words live, so the aliasing is the point.
  produce_words(reinterpret_cast<std::uint64_t*>(bytes.data()), 0, bytes.size() / sizeof(std::uint64_t), seed, stores);
  produce_tail(bytes, seed);
}

void produce(std::span<std::byte> bytes, std::uint64_t seed, store_kind stores, part_pool& pool) {
  auto* out = reinterpret_cast<std::uint64_t*>(bytes.data());
  produce_in_parts(pool, bytes.size() / sizeof(std::uint64_t), sizeof(std::uint64_t),
                   [&](std::size_t first, std::size_t last) { produce_words(out, first, last, seed, stores); });
  produce_tail(bytes, seed);
}

std::uint32_t expected_sum(std::uint64_t size, std::uint64_t seed) noexcept {
  std::uint32_t sum = 0;
  std::uint64_t value = start(seed);
  for (std::uint64_t i = 0; i < size / sizeof(std::uint64_t); ++i) {
    sum += static_cast<std::uint32_t>(value) + static_cast<std::uint32_t>(value >> 32);
    value += step;
  }
  if (size % sizeof(std::uint64_t) >= 4) {
    sum += static_cast<std::uint32_t>(value);  // sizes are multiples of 4: only a low half is left
  }
  return sum;
}

}  // namespace gpusoak::bench::detail
