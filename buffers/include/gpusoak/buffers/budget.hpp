// A per-context memory budget, like VMA's: allocation reserves first and fails cleanly
// with out_of_memory instead of overcommitting (which shows up as multi-second stalls or a lost
// device, never as a clean error).
#pragma once

#include <atomic>
#include <cstdint>

#include "gpusoak/buffers/error.hpp"

namespace gpusoak::gpu {

struct capabilities;

// Default limit when the driver reports nothing: a cap, not a guess at the heap size.
inline constexpr std::uint64_t default_budget_bytes = 2ull << 30;

// Derives the budget from driver-reported memory: 80% of what is available (NVX, ATI),
// clamped to [64 MiB, dedicated memory]; else default_budget_bytes.
[[nodiscard]] std::uint64_t derive_budget(const capabilities& caps) noexcept;

// Thread safety: all members may be called from any thread.
class memory_budget {
 public:
  explicit memory_budget(std::uint64_t limit_bytes) noexcept : limit_(limit_bytes) {}

  // Reserves bytes; fails with out_of_memory naming used, asked and limit. Nothing is reserved
  // on failure.
  [[nodiscard]] result<void> reserve(std::uint64_t bytes) noexcept;
  void release(std::uint64_t bytes) noexcept;

  [[nodiscard]] std::uint64_t limit() const noexcept { return limit_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t used() const noexcept { return used_.load(std::memory_order_relaxed); }
  // A new limit applies to future reservations; what is reserved stays.
  void set_limit(std::uint64_t bytes) noexcept { limit_.store(bytes, std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> limit_;
  std::atomic<std::uint64_t> used_{0};
};

}  // namespace gpusoak::gpu
