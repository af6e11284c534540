#include "gpusoak/buffers/persistent_ring.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "context_core.hpp"

namespace gpusoak::gpu {

result<persistent_ring> persistent_ring::create(context& ctx, const ring_desc& desc) {
  ctx.check_thread();
  if (desc.segment_size == 0) {
    return make_error(error_kind::validation, "ring segment_size 0: a segment needs at least 1 byte");
  }
  if (desc.segments < 2) {
    return make_error(error_kind::validation,
                      fmt::format("ring segments {}: at least 2 are needed to overlap CPU and GPU", desc.segments));
  }
  const capabilities& caps = ctx.caps();
  if (!caps.ext.ARB_buffer_storage) {
    return make_error(error_kind::unsupported, "persistent_ring needs ARB_buffer_storage (absent or masked)");
  }
  // Segments start where an SSBO/UBO binding may start and on whole cache lines.
  const auto alignment = static_cast<std::uint64_t>(std::max<std::int64_t>(
      {64, caps.limit.min_map_buffer_alignment, caps.limit.ssbo_offset_alignment, caps.limit.ubo_offset_alignment}));
  persistent_ring ring;
  ring.core_ = ctx.core();
  ring.segment_size_ = desc.segment_size;
  ring.stride_ = (desc.segment_size + alignment - 1) / alignment * alignment;
  if (!is_supported(caps, strategy::persistent_coherent) && !is_supported(caps, strategy::persistent_flush)) {
    return make_error(error_kind::unsupported,
                      "persistent_ring needs a coherent map or a working explicit flush; neither is available here");
  }
  const strategy first =
      is_supported(caps, strategy::persistent_coherent) ? strategy::persistent_coherent : strategy::persistent_flush;
  buffer_desc buffer{.size = ring.stride_ * desc.segments,
                     .use = desc.use,
                     .preferred = first,
                     .allow_fallback = false,
                     .tag = desc.tag};
  auto made = unified_buffer::create(ctx, buffer);
  if (!made && made.error().kind != error_kind::out_of_memory && first == strategy::persistent_coherent &&
      is_supported(caps, strategy::persistent_flush)) {
    buffer.preferred = strategy::persistent_flush;
    made = unified_buffer::create(ctx, buffer);
  }
  if (!made) {
    return std::unexpected(made.error());
  }
  ring.buffer_ = std::move(*made);
  ring.slots_.resize(desc.segments);
  return ring;
}

std::uint32_t persistent_ring::segment_count() const noexcept {
  return static_cast<std::uint32_t>(slots_.size());
}

result<ring_segment> persistent_ring::acquire(std::chrono::nanoseconds timeout) {
  if (acquired_) {
    return make_error(error_kind::validation,
                      fmt::format("ring '{}': segment {} acquired but not submitted yet", buffer_.tag(), next_));
  }
  slot& current = slots_[next_];
  const auto serial = static_cast<std::uint64_t>(current.serial);
  if (serial > completed_serial_) {
    // Fences signal in order: passing this one means every earlier submission finished too.
    if (!current.guard.signaled()) {
      ++blocked_;
      if (auto waited = current.guard.wait(timeout); !waited) {
        return std::unexpected(waited.error());
      }
    }
    completed_serial_ = serial;
  }
  current.guard = fence{};
  acquired_ = true;
  const std::uint64_t offset = stride_ * next_;
  return ring_segment{next_, offset, buffer_.cpu_view().subspan(offset, segment_size_)};
}

result<void> persistent_ring::publish(const ring_segment& segment) {
  if (!acquired_ || segment.index != next_) {
    return make_error(error_kind::validation,
                      fmt::format("ring '{}': submit of segment {} but segment {} is the one acquired{}", buffer_.tag(),
                                  segment.index, next_, acquired_ ? "" : " (none is)"));
  }
  return buffer_.flush(segment.offset, segment_size_);
}

void persistent_ring::retire() {
  slot& current = slots_[next_];
  current.guard = fence::insert(core_);
  current.serial = fence_serial{next_serial_++};
  next_ = (next_ + 1) % segment_count();
  acquired_ = false;
}

}  // namespace gpusoak::gpu
