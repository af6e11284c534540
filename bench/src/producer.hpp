// The producer every upload path runs: the same loop, so paths differ only in where it writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "part_pool.hpp"

namespace gpusoak::bench::detail {

// Writes the pattern of `seed` into `bytes` in place, as 64-bit stores of a counter-derived
// sequence (one add per word): cheap enough that the memory path, not the generator, is timed.
// Never reads `bytes` (it may be write-combined memory).
void produce(std::span<std::byte> bytes, std::uint64_t seed) noexcept;
// The same bytes, written by the pool's threads in page-aligned parts when `bytes` is at least
// parallel_produce_min_bytes (below that, waking threads costs more than they save). One core
// caps a single producer (about 17 GB/s with streaming stores on the H100 host, 6.6 without).
void produce(std::span<std::byte> bytes, std::uint64_t seed, part_pool& pool);
inline constexpr std::size_t parallel_produce_min_bytes = std::size_t{4} << 20;

// The producers' one rule for threads: body(first, last) over `count` elements of
// `element_bytes` each, in page-sized parts on the pool's threads from parallel_produce_min_bytes
// up, else in one call on this thread.
template <class Body>
void produce_in_parts(part_pool& pool, std::size_t count, std::size_t element_bytes, Body&& body) {
  if (pool.threads() <= 1 || count * element_bytes < parallel_produce_min_bytes) {
    body(std::size_t{0}, count);
    return;
  }
  pool.for_each_part(count, 4096 / element_bytes, body);
}

// What read_every_byte sums for `size` bytes of the pattern of `seed`: the 32-bit little-endian
// words added modulo 2^32. Computed from the seed, not by reading the buffer back.
[[nodiscard]] std::uint32_t expected_sum(std::uint64_t size, std::uint64_t seed) noexcept;

}  // namespace gpusoak::bench::detail
