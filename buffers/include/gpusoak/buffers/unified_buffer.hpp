// unified_buffer: one GL buffer object with a CPU view, placed by the decision matrix.
//
// The producer writes straight into cpu_view() and then calls make_visible_to_gpu(); a consumer
// of GPU results calls make_visible_to_cpu() and then reads cpu_view(). Each strategy does only
// what it needs behind those two calls:
//
//   strategy             cpu_view() is            to GPU                     to CPU
//   persistent_coherent  the persistent map       nothing                    barrier + fence + wait
//   persistent_flush     the persistent map       flush range (aligned)      barrier + fence + wait
//   pinned_host          the pinned host memory   nothing                    barrier + fence + wait
//   device_local_staged  a host shadow            glNamedBufferSubData (*)   barrier + glGetNamedBufferSubData
//   staging_copy         a host shadow            glNamedBufferSubData (*)   barrier + glGetNamedBufferSubData
//   (*) after a GL_BUFFER_UPDATE barrier when the GPU may have written the buffer (gpu_to_cpu,
//       bidirectional): an API write is not ordered after shader writes without it.
//
// Copies (the last two rows, and write()/read()) are counted per copy_path; the mapped rows make
// none. Synchronisation with the GPU still reading a mapped range is the caller's (use a fence or
// persistent_ring): writing a range the GPU reads is a race, as with any persistent map.
//
// Never read cpu_view() of stream_to_gpu / gpu_reads_many buffers: they may be write-combined,
// where a read is uncached and slow. gpu_to_cpu and bidirectional buffers are mapped readable.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "gpusoak/buffers/context.hpp"
#include "gpusoak/buffers/fence.hpp"
#include "gpusoak/buffers/strategy.hpp"

namespace gpusoak::gpu {

namespace detail {
class storage;
}

struct buffer_desc {
  std::uint64_t size = 0;  // bytes, > 0
  usage use = usage::stream_to_gpu;
  std::optional<strategy> preferred;  // tried first; else the matrix's choice
  bool allow_fallback = true;         // on failure, go down the matrix's list for `use`
  std::string tag;                    // names the buffer in leak reports
};

enum class map_state {
  released,     // empty or moved-from: no GL object, no view
  gl_mapped,    // cpu_view() is GPU-visible memory (persistent map or pinned host memory)
  host_shadow,  // cpu_view() is host memory, moved by explicit, counted copies
};

class unified_buffer {
 public:
  // Creates on ctx's thread. Tries desc.preferred (if any), then the matrix's strategies for
  // desc.use in order, skipping unsupported ones; each run-time failure (driver refuses
  // storage or mapping) moves to the next and counts a fallback. out_of_memory from the budget
  // or the driver ends the search: a smaller strategy would not help.
  [[nodiscard]] static result<unified_buffer> create(context& ctx, const buffer_desc& desc);

  unified_buffer() noexcept;
  ~unified_buffer();  // on the owning thread; waits for nothing (see pinned_host in the .cpp)
  unified_buffer(unified_buffer&& other) noexcept;
  unified_buffer& operator=(unified_buffer&& other) noexcept;
  unified_buffer(const unified_buffer&) = delete;
  unified_buffer& operator=(const unified_buffer&) = delete;

  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
  [[nodiscard]] usage use() const noexcept { return usage_; }
  [[nodiscard]] gpu::strategy strategy() const noexcept { return strategy_; }
  [[nodiscard]] map_state state() const noexcept { return state_; }
  [[nodiscard]] bool is_mapped() const noexcept { return state_ == map_state::gl_mapped; }
  [[nodiscard]] bool is_coherent() const noexcept;
  [[nodiscard]] unsigned gl_name() const noexcept;
  [[nodiscard]] const std::string& tag() const noexcept { return tag_; }
  // Valid from creation to destruction (mappings are persistent); empty when released.
  [[nodiscard]] std::span<std::byte> cpu_view() const noexcept;

  // Makes CPU writes to [offset, offset+size) visible to GL commands issued afterwards.
  // size 0 means "to the end". Range errors are `validation`.
  [[nodiscard]] result<void> make_visible_to_gpu(std::uint64_t offset = 0, std::uint64_t size = 0);
  // Waits until GL commands issued so far have written [offset, offset+size) and makes it
  // readable through cpu_view(). A wait past `timeout` is context_lost.
  [[nodiscard]] result<void> make_visible_to_cpu(std::uint64_t offset = 0, std::uint64_t size = 0,
                                                 std::chrono::nanoseconds timeout = default_fence_timeout);
  // Non-coherent maps only: flushes the range, widened to the map alignment. No-op otherwise.
  [[nodiscard]] result<void> flush(std::uint64_t offset, std::uint64_t size);

  // Copies a private array into / out of cpu_view(). Counted as copy_path::cpu_memcpy: a copy
  // is a copy even into a mapping. Prefer writing into cpu_view() directly.
  [[nodiscard]] result<void> write(std::uint64_t offset, std::span<const std::byte> bytes);
  [[nodiscard]] result<void> read(std::uint64_t offset, std::span<std::byte> bytes) const;

 private:
  // Legal transitions (the only writer of state_):
  //   1. released -> gl_mapped | host_shadow   (create)
  //   2. gl_mapped | host_shadow -> released   (destroy, move-from)
  void transition_to(map_state next) noexcept;
  [[nodiscard]] result<std::uint64_t> check_range(std::uint64_t offset, std::uint64_t size) const;
  void destroy() noexcept;

  std::shared_ptr<detail::context_core> core_;
  std::unique_ptr<detail::storage> storage_;
  std::uint64_t id_ = 0;
  std::uint64_t size_ = 0;
  usage usage_ = usage::stream_to_gpu;
  gpu::strategy strategy_ = gpu::strategy::staging_copy;
  map_state state_ = map_state::released;
  std::string tag_;
};

}  // namespace gpusoak::gpu
