// The producer every upload path runs: the same loop, so paths differ only in where it writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "part_pool.hpp"

namespace gpusoak::bench::detail {

// Which stores write the pattern. The NVIDIA driver's mappings are write-back memory, and which
// kind leaves the GPU's reads fastest depends on when the GPU reads the bytes (H100 host,
// docs/lab/streaming.md):
enum class store_kind {
  // Non-temporal stores, straight to memory: for bytes the GPU reads at once (a sync upload).
  // Plain stores would leave the lines modified in the writers' caches, and the GPU's reads of
  // them right after were 20-38 GB/s instead of 47-50.
  bypass_cache,
  // Plain 64-byte stores, the next lines prefetched for ownership: for a stream written by many
  // threads, where the GPU reads one batch while the next is written. The lines are not pushed
  // to memory, and the GPU's reads in the stream ran at their idle rate (64 MiB ring, 16
  // writers: 50.4-50.9 GB/s), where the streaming stores' writes slowed them by a fifth (42.2-43.2).
  through_cache,
};

// The stores a stream's producer uses with `threads` writers. Few writers cannot outpace the bus
// and need every byte a core can write (a plain store first reads its line): with 3 or 4 the
// streaming stores' stream was faster (36-46 GB/s against 27-40), and their few writes left the
// GPU's reads near their idle rate. From 8 the cached stores' stream was (47-49 against 41-42).
[[nodiscard]] constexpr store_kind stream_stores(int threads) noexcept {
  return threads >= 8 ? store_kind::through_cache : store_kind::bypass_cache;
}
[[nodiscard]] constexpr const char* to_string(store_kind stores) noexcept {
  return stores == store_kind::through_cache ? "through_cache" : "bypass_cache";
}

// Writes the pattern of `seed` into `bytes` in place, as 64-bit stores of a counter-derived
// sequence (one add per word): cheap enough that the memory path, not the generator, is timed.
// Never reads `bytes` (it may be write-combined memory).
void produce(std::span<std::byte> bytes, std::uint64_t seed, store_kind stores) noexcept;
// The same bytes, written by the pool's threads in page-aligned parts when `bytes` is at least
// parallel_produce_min_bytes (below that, waking threads costs more than they save). One core
// caps a single producer (about 17 GB/s with streaming stores on the H100 host, 6.6 without).
void produce(std::span<std::byte> bytes, std::uint64_t seed, store_kind stores, part_pool& pool);
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
