// persistent_ring: N segments of one persistent buffer, each guarded by a fence, so the CPU
// writes segment k+1 while the GPU still reads segment k. The CPU blocks only when it comes
// round to a segment whose commands have not finished; that time is counted (fence_wait_ns).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "gpusoak/buffers/fence.hpp"
#include "gpusoak/buffers/unified_buffer.hpp"

namespace gpusoak::gpu {

// Submissions are numbered; fences signal in order, so "serial s finished" means every
// serial <= s finished: a segment whose serial is already known finished needs no GL call, and
// one wait covers the segments behind it.
enum class fence_serial : std::uint64_t {};

struct ring_desc {
  std::uint64_t segment_size = 0;  // bytes per segment, > 0; rounded up to the alignment
  std::uint32_t segments = 3;      // >= 2
  usage use = usage::stream_to_gpu;
  std::string tag = "ring";
};

struct ring_segment {
  std::uint32_t index = 0;
  std::uint64_t offset = 0;    // byte offset in gl_name(); aligned for SSBO binding
  std::span<std::byte> bytes;  // the segment's mapped bytes (segment_size of them)
};

class persistent_ring {
 public:
  // Needs ARB_buffer_storage (coherent if allowed, else explicit flush): `unsupported` otherwise.
  [[nodiscard]] static result<persistent_ring> create(context& ctx, const ring_desc& desc);

  // The next segment in order, once the GPU is done with it. A timeout is context_lost.
  // Acquire, write into segment.bytes, then submit(); one segment at a time.
  [[nodiscard]] result<ring_segment> acquire(std::chrono::nanoseconds timeout = default_fence_timeout);

  // Publishes the segment's CPU writes (non-coherent: flush), calls issue() to record the GL
  // commands that read it, then fences them. The flush must precede those commands: GL sees
  // non-coherent writes only in commands issued after the flush, so the ring orders it here
  // rather than trusting the caller to.
  template <class IssueCommands>
  [[nodiscard]] result<void> submit(const ring_segment& segment, IssueCommands&& issue) {
    if (auto published = publish(segment); !published) {
      return published;
    }
    std::forward<IssueCommands>(issue)();
    retire();
    return {};
  }

  [[nodiscard]] unsigned gl_name() const noexcept { return buffer_.gl_name(); }
  [[nodiscard]] std::uint64_t segment_size() const noexcept { return segment_size_; }
  [[nodiscard]] std::uint64_t segment_stride() const noexcept { return stride_; }
  [[nodiscard]] std::uint32_t segment_count() const noexcept;
  [[nodiscard]] const unified_buffer& buffer() const noexcept { return buffer_; }
  // Acquisitions that found their segment's fence not yet passed, and so waited on it. The GPU
  // may pass it before the wait's first poll: the context's fence_waits counts only real blocks.
  [[nodiscard]] std::uint64_t blocked_acquisitions() const noexcept { return blocked_; }

 private:
  persistent_ring() = default;
  [[nodiscard]] result<void> publish(const ring_segment& segment);
  void retire();
  struct slot {
    fence guard;
    fence_serial serial{0};
  };
  std::shared_ptr<detail::context_core> core_;
  unified_buffer buffer_;
  std::vector<slot> slots_;
  std::uint64_t segment_size_ = 0;
  std::uint64_t stride_ = 0;
  std::uint32_t next_ = 0;
  bool acquired_ = false;
  std::uint64_t next_serial_ = 1;
  std::uint64_t completed_serial_ = 0;
  std::uint64_t blocked_ = 0;
};

}  // namespace gpusoak::gpu
