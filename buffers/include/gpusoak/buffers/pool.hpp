// buffer_pool: sub-allocation from a few large unified_buffers, because drivers limit the
// number of mappings (mobile ones sharply) and each buffer object costs a driver allocation.
//
// free_list_allocator is the CPU-side bookkeeping (best fit, coalescing on free); buffer_pool
// puts it over GL chunks, gives fully idle chunks back beyond `keep_idle_chunks`, and never
// moves a live block: moving would break the CPU pointers that are the point of the pool.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "gpusoak/buffers/unified_buffer.hpp"

namespace gpusoak::gpu {

struct allocator_stats {
  std::uint64_t capacity = 0;  // bytes managed
  std::uint64_t used = 0;      // bytes in live blocks (aligned sizes); used + free == capacity
  std::uint64_t free = 0;
  std::uint64_t largest_free = 0;  // always <= free
  std::uint64_t live_blocks = 0;
  std::uint64_t free_blocks = 0;  // after coalescing: no two free blocks touch
  // 1 - largest_free / free: 0 when all free space is one block, towards 1 when scattered.
  [[nodiscard]] double fragmentation() const noexcept;
};

class free_list_allocator {
 public:
  explicit free_list_allocator(std::uint64_t capacity);

  // Best fit. Returns the offset, aligned to `alignment` (a power of two), or nullopt when no
  // free block fits. The block's size is rounded up to `alignment` too.
  [[nodiscard]] std::optional<std::uint64_t> allocate(std::uint64_t size, std::uint64_t alignment);
  // Frees the block that starts at offset; coalesces with free neighbours. Returns false (and
  // changes nothing) when no live block starts there.
  bool free(std::uint64_t offset);

  [[nodiscard]] allocator_stats stats() const noexcept;
  // Walks every invariant (no overlap, no gaps, coalesced, totals). "" when all hold, else
  // what broke, with the offsets.
  [[nodiscard]] std::string validate() const;
  // offset -> aligned size of every live block, in offset order: lets the pool and tests check
  // placement without reaching into the free lists.
  [[nodiscard]] const std::map<std::uint64_t, std::uint64_t>& live_blocks() const noexcept { return live_; }

 private:
  std::uint64_t capacity_;
  std::uint64_t used_ = 0;
  std::map<std::uint64_t, std::uint64_t> free_;          // offset -> size
  std::multimap<std::uint64_t, std::uint64_t> by_size_;  // size -> offset (best fit)
  std::map<std::uint64_t, std::uint64_t> live_;          // offset -> aligned size (pad stays free)
  void insert_free(std::uint64_t offset, std::uint64_t size);
  void erase_free(std::map<std::uint64_t, std::uint64_t>::iterator it);
};

struct pool_desc {
  usage use = usage::stream_to_gpu;
  std::uint64_t chunk_size = 64ull << 20;  // bytes per GL buffer
  std::uint32_t max_chunks = 8;            // cap: allocation past it is out_of_memory
  std::uint32_t keep_idle_chunks = 1;      // fully free chunks kept for reuse; the rest go back
  std::string tag = "pool";
};

struct pool_block {
  std::uint32_t chunk = 0;
  std::uint64_t offset = 0;    // in the chunk's GL buffer; multiple of alignment()
  std::uint64_t size = 0;      // as asked
  std::span<std::byte> bytes;  // cpu view of the block
  unsigned gl_name = 0;        // the chunk's buffer, for binding with offset
};

struct pool_stats {
  allocator_stats totals;  // summed over chunks (largest_free is the max)
  std::uint32_t chunks = 0;
  std::uint64_t chunks_released = 0;  // idle chunks given back so far
};

class buffer_pool {
 public:
  // Alignment: max(64, GL_MIN_MAP_BUFFER_ALIGNMENT, SSBO and UBO offset alignment).
  [[nodiscard]] static result<buffer_pool> create(context& ctx, const pool_desc& desc);

  // `validation` for 0 or > chunk_size; out_of_memory when max_chunks are full or the budget
  // refuses a new chunk.
  [[nodiscard]] result<pool_block> allocate(std::uint64_t size);
  // Returns the block; a chunk left empty beyond keep_idle_chunks is destroyed.
  [[nodiscard]] result<void> free(const pool_block& block);

  [[nodiscard]] pool_stats stats() const noexcept;
  [[nodiscard]] std::uint64_t alignment() const noexcept { return alignment_; }
  [[nodiscard]] unified_buffer& chunk_buffer(std::uint32_t chunk);
  [[nodiscard]] std::string validate() const;

 private:
  buffer_pool() = default;
  struct chunk {
    unified_buffer buffer;
    free_list_allocator allocator;
  };
  context* ctx_ = nullptr;
  pool_desc desc_;
  std::uint64_t alignment_ = 64;
  std::vector<std::optional<chunk>> chunks_;  // a released chunk leaves nullopt: indices stay
  std::uint64_t released_ = 0;
};

}  // namespace gpusoak::gpu
