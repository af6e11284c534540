// Always-on, lock-free counters of one context. The harness exports them; nothing here knows how.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

namespace gpusoak::gpu {

// Every place where bytes are copied instead of being produced in place.
enum class copy_path : std::uint8_t {
  staging_upload,  // glNamedBufferSubData from a host shadow (staging_copy strategy)
  device_upload,   // glNamedBufferSubData into device-local storage (device_local_staged)
  readback_copy,   // glGetNamedBufferSubData into a host shadow
  gpu_copy,        // glCopyNamedBufferSubData
  cpu_memcpy,      // unified_buffer::write/read: a private array copied into or out of a mapping
  count_
};
inline constexpr std::size_t copy_path_count = static_cast<std::size_t>(copy_path::count_);
[[nodiscard]] std::string_view to_string(copy_path path) noexcept;

// Plain copy of the counters at one moment. Invariants: live_buffers == allocations - frees,
// live_bytes <= the context's budget limit.
struct counters_snapshot {
  std::uint64_t allocations = 0;
  std::uint64_t frees = 0;
  std::uint64_t live_buffers = 0;
  std::uint64_t live_bytes = 0;
  std::array<std::uint64_t, copy_path_count> copies{};
  std::array<std::uint64_t, copy_path_count> copied_bytes{};
  std::uint64_t maps = 0;
  std::uint64_t flushes = 0;
  std::uint64_t barriers = 0;
  std::uint64_t fence_waits = 0;     // waits that found the fence unsignaled and blocked
  std::uint64_t fence_wait_ns = 0;   // time spent blocked in those waits
  std::uint64_t out_of_memory = 0;   // budget refusals and GL_OUT_OF_MEMORY together
  std::uint64_t gl_errors = 0;       // KHR_debug messages of type error
  std::uint64_t fallbacks = 0;       // creations that fell back from the preferred strategy
  std::uint64_t leaked_buffers = 0;  // buffers still alive when their context was destroyed

  [[nodiscard]] std::uint64_t total_copies() const noexcept;
  [[nodiscard]] std::uint64_t total_copied_bytes() const noexcept;
};

// Relaxed atomics: each counter is exact, but a snapshot is not one atomic cut.
// Thread safety: every member may be called from any thread.
class counters {
 public:
  void on_allocate(std::uint64_t bytes) noexcept;
  void on_free(std::uint64_t bytes) noexcept;
  void on_copy(copy_path path, std::uint64_t bytes) noexcept;
  void on_map() noexcept { maps_.fetch_add(1, std::memory_order_relaxed); }
  void on_flush() noexcept { flushes_.fetch_add(1, std::memory_order_relaxed); }
  void on_barrier() noexcept { barriers_.fetch_add(1, std::memory_order_relaxed); }
  void on_fence_wait(std::uint64_t ns) noexcept;
  void on_out_of_memory() noexcept { oom_.fetch_add(1, std::memory_order_relaxed); }
  void on_gl_error() noexcept { gl_errors_.fetch_add(1, std::memory_order_relaxed); }
  void on_fallback() noexcept { fallbacks_.fetch_add(1, std::memory_order_relaxed); }
  void on_leak() noexcept { leaked_.fetch_add(1, std::memory_order_relaxed); }

  [[nodiscard]] counters_snapshot snapshot() const noexcept;

 private:
  using counter = std::atomic<std::uint64_t>;
  counter allocations_{0}, frees_{0}, live_buffers_{0}, live_bytes_{0};
  std::array<counter, copy_path_count> copies_{}, copied_bytes_{};
  counter maps_{0}, flushes_{0}, barriers_{0}, fence_waits_{0}, fence_wait_ns_{0};
  counter oom_{0}, gl_errors_{0}, fallbacks_{0}, leaked_{0};
};

}  // namespace gpusoak::gpu
