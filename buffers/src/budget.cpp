#include "gpusoak/buffers/budget.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "gpusoak/buffers/capabilities.hpp"

namespace gpusoak::gpu {

std::uint64_t derive_budget(const capabilities& caps) noexcept {
  constexpr std::uint64_t floor = 64ull << 20;
  if (!caps.memory.available_bytes || *caps.memory.available_bytes == 0) {
    return default_budget_bytes;
  }
  // 80% of what the driver says is free (VMA's rule), never above the dedicated size it reports:
  // drivers have been seen to report nonsense, and a budget above the heap is no budget.
  std::uint64_t budget = *caps.memory.available_bytes / 5 * 4;
  if (caps.memory.dedicated_bytes && *caps.memory.dedicated_bytes > 0) {
    budget = std::min(budget, *caps.memory.dedicated_bytes);
  }
  return std::max(budget, floor);
}

result<void> memory_budget::reserve(std::uint64_t bytes) noexcept {
  std::uint64_t used = used_.load(std::memory_order_relaxed);
  for (;;) {
    const std::uint64_t limit = limit_.load(std::memory_order_relaxed);
    if (bytes > limit || used > limit - bytes) {
      return make_error(
          error_kind::out_of_memory,
          fmt::format("budget: {} bytes used + {} asked exceeds the limit of {} bytes", used, bytes, limit));
    }
    if (used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed)) {
      return {};
    }
  }
}

void memory_budget::release(std::uint64_t bytes) noexcept {
  used_.fetch_sub(bytes, std::memory_order_relaxed);
}

}  // namespace gpusoak::gpu
