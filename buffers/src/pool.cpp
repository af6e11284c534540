#include "gpusoak/buffers/pool.hpp"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>

namespace gpusoak::gpu {

namespace {

constexpr std::uint64_t max_u64 = std::numeric_limits<std::uint64_t>::max();

[[nodiscard]] constexpr bool is_pow2(std::uint64_t v) noexcept {
  return v != 0 && (v & (v - 1)) == 0;
}

// Callers guarantee no overflow (value <= max_u64 - (alignment - 1)).
[[nodiscard]] constexpr std::uint64_t round_up(std::uint64_t value, std::uint64_t alignment) noexcept {
  return (value + alignment - 1) & ~(alignment - 1);
}

}  // namespace

double allocator_stats::fragmentation() const noexcept {
  if (free == 0) return 0.0;
  return 1.0 - static_cast<double>(largest_free) / static_cast<double>(free);
}

// ---------------------------------------------------------------------------------------------
// free_list_allocator

free_list_allocator::free_list_allocator(std::uint64_t capacity) : capacity_(capacity) {
  if (capacity_ > 0) insert_free(0, capacity_);
}

void free_list_allocator::insert_free(std::uint64_t offset, std::uint64_t size) {
  free_.emplace(offset, size);
  by_size_.emplace(size, offset);
}

void free_list_allocator::erase_free(std::map<std::uint64_t, std::uint64_t>::iterator it) {
  // by_size_ holds several blocks of one size; only the entry for this offset may go.
  auto [first, last] = by_size_.equal_range(it->second);
  for (auto s = first; s != last; ++s) {
    if (s->second == it->first) {
      by_size_.erase(s);
      break;
    }
  }
  free_.erase(it);
}

std::optional<std::uint64_t> free_list_allocator::allocate(std::uint64_t size, std::uint64_t alignment) {
  if (!is_pow2(alignment)) {
    // A silent fallback alignment would hand out offsets the GPU side then rejects.
    std::fprintf(stderr, "free_list_allocator::allocate: alignment %llu is not a power of two\n",
                 static_cast<unsigned long long>(alignment));
    std::abort();
  }
  if (size == 0 || size > capacity_ || size > max_u64 - (alignment - 1)) return std::nullopt;
  const std::uint64_t aligned_size = round_up(size, alignment);
  if (aligned_size > capacity_) return std::nullopt;

  // Ascending size order makes the first block that fits (with its alignment pad) the best fit.
  for (auto it = by_size_.lower_bound(aligned_size); it != by_size_.end(); ++it) {
    const std::uint64_t block_size = it->first;
    const std::uint64_t block_offset = it->second;
    const std::uint64_t start = round_up(block_offset, alignment);
    const std::uint64_t pad = start - block_offset;
    if (pad > block_size || aligned_size > block_size - pad) continue;

    erase_free(free_.find(block_offset));
    // The pad goes back as its own free block rather than into the live one, so a live block is
    // always exactly [offset, offset + aligned size). It cannot touch another free block: the
    // block it came from was coalesced, so a live block (or offset 0) precedes it.
    if (pad > 0) insert_free(block_offset, pad);
    const std::uint64_t tail = block_size - pad - aligned_size;
    if (tail > 0) insert_free(start + aligned_size, tail);
    live_.emplace(start, aligned_size);
    used_ += aligned_size;
    return start;
  }
  return std::nullopt;
}

bool free_list_allocator::free(std::uint64_t offset) {
  const auto live = live_.find(offset);
  if (live == live_.end()) return false;
  std::uint64_t start = offset;
  std::uint64_t size = live->second;
  live_.erase(live);
  used_ -= size;

  if (auto next = free_.find(start + size); next != free_.end()) {
    size += next->second;
    erase_free(next);
  }
  if (auto next = free_.lower_bound(start); next != free_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == start) {
      start = prev->first;
      size += prev->second;
      erase_free(prev);
    }
  }
  insert_free(start, size);
  return true;
}

allocator_stats free_list_allocator::stats() const noexcept {
  allocator_stats s;
  s.capacity = capacity_;
  s.used = used_;
  s.free = capacity_ - used_;
  s.largest_free = by_size_.empty() ? 0 : by_size_.rbegin()->first;
  s.live_blocks = live_.size();
  s.free_blocks = free_.size();
  return s;
}

std::string free_list_allocator::validate() const {
  std::string out;
  auto fail = [&out](std::string message) {
    if (!out.empty()) out += "; ";
    out += std::move(message);
  };
  auto str = [](std::uint64_t v) { return std::to_string(v); };

  // Merge-walk both maps in offset order: together they must tile [0, capacity) exactly.
  auto f = free_.begin();
  auto l = live_.begin();
  std::uint64_t cursor = 0;
  bool prev_free = false;
  std::uint64_t prev_offset = 0;
  std::uint64_t live_sum = 0;
  while (f != free_.end() || l != live_.end()) {
    const bool is_free = l == live_.end() || (f != free_.end() && f->first < l->first);
    const auto [offset, size] = is_free ? *f++ : *l++;
    const char* kind = is_free ? "free" : "live";
    if (!is_free) live_sum += size;
    if (size == 0) fail(std::string(kind) + " block at " + str(offset) + " has size 0");
    if (offset < cursor) {
      fail(std::string(kind) + " block at " + str(offset) + " overlaps the block ending at " + str(cursor));
    } else if (offset > cursor) {
      fail("gap [" + str(cursor) + ", " + str(offset) + ") is neither free nor live");
    }
    if (is_free && prev_free && offset == cursor) {
      fail("free blocks at " + str(prev_offset) + " and " + str(offset) + " touch (not coalesced)");
    }
    if (size > max_u64 - offset || offset + size > capacity_) {
      fail(std::string(kind) + " block at " + str(offset) + " size " + str(size) + " runs past capacity " +
           str(capacity_));
    }
    cursor = std::max(cursor, offset + size);
    prev_free = is_free;
    prev_offset = offset;
  }
  if (cursor != capacity_) {
    fail("blocks end at " + str(cursor) + ", capacity is " + str(capacity_));
  }

  if (by_size_.size() != free_.size()) {
    fail("by_size has " + str(by_size_.size()) + " entries, free list " + str(free_.size()));
  }
  for (const auto& [size, offset] : by_size_) {
    const auto it = free_.find(offset);
    if (it == free_.end()) {
      fail("by_size entry (size " + str(size) + ", offset " + str(offset) + ") has no free block");
    } else if (it->second != size) {
      fail("by_size says free block at " + str(offset) + " has size " + str(size) + ", free list says " +
           str(it->second));
    }
  }
  if (live_sum != used_) {
    fail("used is " + str(used_) + " but live blocks sum to " + str(live_sum));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// buffer_pool

result<buffer_pool> buffer_pool::create(context& ctx, const pool_desc& desc) {
  if (desc.chunk_size == 0) {
    return make_error(error_kind::validation, "pool '" + desc.tag + "': chunk_size must be > 0");
  }
  if (desc.max_chunks < 1) {
    return make_error(error_kind::validation, "pool '" + desc.tag + "': max_chunks must be >= 1");
  }

  // Every block offset must be legal for glMapBufferRange and for binding as SSBO or UBO range.
  const limits& lim = ctx.caps().limit;
  const std::int64_t widest =
      std::max({std::int64_t{64}, lim.min_map_buffer_alignment, lim.ssbo_offset_alignment, lim.ubo_offset_alignment});
  const std::uint64_t alignment = std::bit_ceil(static_cast<std::uint64_t>(widest));

  if (desc.chunk_size > max_u64 - (alignment - 1)) {
    return make_error(error_kind::validation,
                      "pool '" + desc.tag + "': chunk_size " + std::to_string(desc.chunk_size) + " is too large");
  }

  buffer_pool pool;
  pool.ctx_ = &ctx;
  pool.desc_ = desc;
  // Rounded so that any size <= chunk_size fits an empty chunk once rounded to the alignment;
  // otherwise such a request would make a fresh chunk per attempt and never fit.
  pool.desc_.chunk_size = round_up(desc.chunk_size, alignment);
  pool.alignment_ = alignment;
  return pool;
}

result<pool_block> buffer_pool::allocate(std::uint64_t size) {
  if (size == 0) {
    return make_error(error_kind::validation, "pool '" + desc_.tag + "': size must be > 0");
  }
  if (size > desc_.chunk_size) {
    return make_error(error_kind::validation, "pool '" + desc_.tag + "': size " + std::to_string(size) +
                                                  " exceeds chunk_size " + std::to_string(desc_.chunk_size));
  }

  auto block_in = [&](std::uint32_t index, std::uint64_t offset) {
    chunk& c = *chunks_[index];
    return pool_block{.chunk = index,
                      .offset = offset,
                      .size = size,
                      .bytes = c.buffer.cpu_view().subspan(offset, size),
                      .gl_name = c.buffer.gl_name()};
  };

  std::optional<std::uint32_t> empty_slot;
  std::uint32_t live_chunks = 0;
  for (std::uint32_t i = 0; i < chunks_.size(); ++i) {
    if (!chunks_[i]) {
      if (!empty_slot) empty_slot = i;
      continue;
    }
    ++live_chunks;
    if (auto offset = chunks_[i]->allocator.allocate(size, alignment_)) return block_in(i, *offset);
  }

  if (live_chunks >= desc_.max_chunks) {
    return make_error(error_kind::out_of_memory,
                      "pool '" + desc_.tag + "': all max_chunks " + std::to_string(desc_.max_chunks) +
                          " chunks are in use, no room for " + std::to_string(size) + " bytes");
  }

  // Reusing a released slot keeps indices below max_chunks and the vector from growing.
  const std::uint32_t index = empty_slot.value_or(static_cast<std::uint32_t>(chunks_.size()));
  // Field by field: GCC 12 warns on designated initializers that skip members.
  buffer_desc bd;
  bd.size = desc_.chunk_size;
  bd.use = desc_.use;
  bd.tag = desc_.tag + "/chunk" + std::to_string(index);
  auto buffer = unified_buffer::create(*ctx_, bd);
  if (!buffer) return std::unexpected(std::move(buffer.error()));

  chunk fresh{.buffer = std::move(*buffer), .allocator = free_list_allocator(desc_.chunk_size)};
  if (index == chunks_.size()) {
    chunks_.emplace_back(std::move(fresh));
  } else {
    chunks_[index].emplace(std::move(fresh));
  }

  const auto offset = chunks_[index]->allocator.allocate(size, alignment_);
  if (!offset) {
    // Unreachable: size <= chunk_size and chunk_size is a multiple of the alignment.
    return make_error(error_kind::internal,
                      "pool '" + desc_.tag + "': a fresh chunk refused " + std::to_string(size) + " bytes");
  }
  return block_in(index, *offset);
}

result<void> buffer_pool::free(const pool_block& block) {
  if (block.chunk >= chunks_.size() || !chunks_[block.chunk]) {
    return make_error(error_kind::validation, "pool '" + desc_.tag + "': chunk " + std::to_string(block.chunk) +
                                                  " does not exist (released or never created)");
  }
  chunk& c = *chunks_[block.chunk];
  // A block kept past its chunk's release could otherwise free a stranger's block in the chunk
  // that reused the slot.
  if (block.gl_name != c.buffer.gl_name()) {
    return make_error(error_kind::validation, "pool '" + desc_.tag + "': block names buffer " +
                                                  std::to_string(block.gl_name) + " but chunk " +
                                                  std::to_string(block.chunk) + " is buffer " +
                                                  std::to_string(c.buffer.gl_name()) + " (stale block)");
  }
  if (!c.allocator.free(block.offset)) {
    return make_error(error_kind::validation, "pool '" + desc_.tag + "': no live block at offset " +
                                                  std::to_string(block.offset) + " in chunk " +
                                                  std::to_string(block.chunk));
  }

  if (c.allocator.stats().live_blocks == 0) {
    std::uint64_t idle = 0;
    for (const auto& other : chunks_) {
      if (other && other->allocator.stats().live_blocks == 0) ++idle;
    }
    if (idle > desc_.keep_idle_chunks) {
      chunks_[block.chunk].reset();
      ++released_;
    }
  }
  return {};
}

pool_stats buffer_pool::stats() const noexcept {
  pool_stats out;
  for (const auto& c : chunks_) {
    if (!c) continue;
    const allocator_stats s = c->allocator.stats();
    out.totals.capacity += s.capacity;
    out.totals.used += s.used;
    out.totals.free += s.free;
    out.totals.largest_free = std::max(out.totals.largest_free, s.largest_free);
    out.totals.live_blocks += s.live_blocks;
    out.totals.free_blocks += s.free_blocks;
    ++out.chunks;
  }
  out.chunks_released = released_;
  return out;
}

unified_buffer& buffer_pool::chunk_buffer(std::uint32_t chunk) {
  if (chunk >= chunks_.size() || !chunks_[chunk]) {
    // A programming error, like indexing past a vector: no result<> to ignore.
    std::fprintf(stderr, "buffer_pool '%s': chunk_buffer(%u) names no live chunk (%zu slots)\n", desc_.tag.c_str(),
                 chunk, chunks_.size());
    std::abort();
  }
  return chunks_[chunk]->buffer;
}

std::string buffer_pool::validate() const {
  std::string out;
  auto fail = [&out](std::string message) {
    if (!out.empty()) out += "; ";
    out += std::move(message);
  };

  std::uint32_t live_chunks = 0;
  for (std::uint32_t i = 0; i < chunks_.size(); ++i) {
    if (!chunks_[i]) continue;
    ++live_chunks;
    const chunk& c = *chunks_[i];
    const std::string where = "chunk " + std::to_string(i) + ": ";
    if (std::string v = c.allocator.validate(); !v.empty()) fail(where + v);
    if (c.allocator.stats().capacity != desc_.chunk_size) {
      fail(where + "allocator capacity " + std::to_string(c.allocator.stats().capacity) + " != chunk_size " +
           std::to_string(desc_.chunk_size));
    }
    if (c.buffer.size() < desc_.chunk_size) {
      fail(where + "buffer size " + std::to_string(c.buffer.size()) + " < chunk_size " +
           std::to_string(desc_.chunk_size));
    }
    for (const auto& [offset, size] : c.allocator.live_blocks()) {
      if (offset % alignment_ != 0) {
        fail(where + "live block at " + std::to_string(offset) + " is not aligned to " + std::to_string(alignment_));
      }
    }
  }
  if (live_chunks > desc_.max_chunks) {
    fail(std::to_string(live_chunks) + " live chunks exceed max_chunks " + std::to_string(desc_.max_chunks));
  }
  return out;
}

}  // namespace gpusoak::gpu
