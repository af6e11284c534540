// glFenceSync, owned. Waiting polls first (no flush, no block), then blocks with
// GL_SYNC_FLUSH_COMMANDS_BIT up to a bound; a timeout or GL_WAIT_FAILED is context_lost.
#pragma once

#include <chrono>
#include <memory>

#include "gpusoak/buffers/error.hpp"

namespace gpusoak::gpu {

class context;
class unified_buffer;
class persistent_ring;
namespace detail {
struct context_core;
}

inline constexpr std::chrono::nanoseconds default_fence_timeout = std::chrono::seconds(5);

class fence {
 public:
  fence() noexcept = default;
  // Inserts a fence after every command issued so far on the calling (owning) thread.
  [[nodiscard]] static fence insert(context& ctx);
  ~fence();
  fence(fence&& other) noexcept;
  fence& operator=(fence&& other) noexcept;
  fence(const fence&) = delete;
  fence& operator=(const fence&) = delete;

  [[nodiscard]] bool empty() const noexcept { return sync_ == nullptr; }
  // True when the GPU has passed the fence (or the fence is empty). Never blocks.
  [[nodiscard]] bool signaled() const;
  // Blocks until signaled or timeout. Blocking time is counted in the context's counters.
  // An empty fence returns at once. After success the fence is empty.
  [[nodiscard]] result<void> wait(std::chrono::nanoseconds timeout = default_fence_timeout);

 private:
  friend class unified_buffer;
  friend class persistent_ring;
  [[nodiscard]] static fence insert(std::shared_ptr<detail::context_core> core);
  void reset() noexcept;
  // Shared so a fence outliving its context (as a leaked object would) stays safe to destroy.
  std::shared_ptr<detail::context_core> core_;
  void* sync_ = nullptr;  // GLsync
};

}  // namespace gpusoak::gpu
