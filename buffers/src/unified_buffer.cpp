#include "gpusoak/buffers/unified_buffer.hpp"

#include <fmt/format.h>
#include <glad/gl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "context_core.hpp"
#include "gpusoak/buffers/fence.hpp"
#include "storage.hpp"

namespace gpusoak::gpu {
namespace {

result<std::unique_ptr<detail::storage>> make_storage(detail::context_core& core, strategy s, const buffer_desc& d) {
  switch (s) {
    case strategy::persistent_coherent: return detail::make_persistent_storage(core, d.size, d.use, true);
    case strategy::persistent_flush: return detail::make_persistent_storage(core, d.size, d.use, false);
    case strategy::pinned_host: return detail::make_pinned_storage(core, d.size, d.use);
    case strategy::device_local_staged: return detail::make_shadowed_storage(core, d.size, d.use, true);
    case strategy::staging_copy: return detail::make_shadowed_storage(core, d.size, d.use, false);
  }
  return make_error(error_kind::internal, "unknown strategy");
}

// The order creation tries strategies in: the preferred one, then (if allowed) the matrix's.
result<std::vector<strategy>> creation_order(const capabilities& caps, const buffer_desc& desc) {
  std::vector<strategy> order;
  if (desc.preferred) {
    if (!is_supported(caps, *desc.preferred) && !desc.allow_fallback) {
      return make_error(error_kind::unsupported,
                        fmt::format("strategy {} is not supported here ({}{}) and allow_fallback is false",
                                    to_string(*desc.preferred), caps.renderer,
                                    caps.masked.empty() ? "" : ", masked: " + caps.masked));
    }
    order.push_back(*desc.preferred);
  }
  if (desc.allow_fallback || order.empty()) {
    for (strategy s : candidates(caps, desc.use)) {
      if (std::ranges::find(order, s) == order.end()) order.push_back(s);
    }
  }
  return order;
}

}  // namespace

unified_buffer::unified_buffer() noexcept = default;
unified_buffer::~unified_buffer() {
  destroy();
}

unified_buffer::unified_buffer(unified_buffer&& other) noexcept
    : core_(std::move(other.core_)),
      storage_(std::move(other.storage_)),
      id_(other.id_),
      size_(other.size_),
      usage_(other.usage_),
      strategy_(other.strategy_),
      state_(other.state_),
      tag_(std::move(other.tag_)) {
  other.transition_to(map_state::released);
  other.size_ = 0;
}

unified_buffer& unified_buffer::operator=(unified_buffer&& other) noexcept {
  if (this != &other) {
    destroy();
    core_ = std::move(other.core_);
    storage_ = std::move(other.storage_);
    id_ = other.id_;
    size_ = other.size_;
    usage_ = other.usage_;
    strategy_ = other.strategy_;
    state_ = other.state_;
    tag_ = std::move(other.tag_);
    other.transition_to(map_state::released);
    other.size_ = 0;
  }
  return *this;
}

void unified_buffer::transition_to(map_state next) noexcept {
  state_ = next;
}

result<unified_buffer> unified_buffer::create(context& ctx, const buffer_desc& desc) {
  ctx.check_thread();
  detail::context_core& core = *ctx.core();
  if (desc.size == 0) {
    return make_error(error_kind::validation, "size 0: a buffer needs at least 1 byte");
  }
  if (desc.size > static_cast<std::uint64_t>(std::numeric_limits<GLsizeiptr>::max())) {
    return make_error(error_kind::validation, fmt::format("size {} exceeds GLsizeiptr", desc.size));
  }
  auto order = creation_order(core.caps, desc);
  if (!order) {
    return std::unexpected(order.error());
  }
  if (auto reserved = core.budget.reserve(desc.size); !reserved) {
    core.stats.on_out_of_memory();
    return std::unexpected(reserved.error());
  }
  buffer_error last{error_kind::unsupported, "no strategy could be created"};
  for (gpu::strategy s : *order) {
    if (!is_supported(core.caps, s)) {
      continue;
    }
    auto made = make_storage(core, s, desc);
    if (made) {
      unified_buffer buffer;
      buffer.core_ = ctx.core();
      buffer.storage_ = std::move(*made);
      buffer.size_ = desc.size;
      buffer.usage_ = desc.use;
      buffer.strategy_ = s;
      buffer.tag_ = desc.tag;
      buffer.transition_to(buffer.storage_->mapping());
      buffer.id_ = core.register_live(leak_record{desc.tag, desc.size, std::string(to_string(s))});
      core.stats.on_allocate(desc.size);
      return buffer;
    }
    last = made.error();
    if (last.kind == error_kind::out_of_memory) {
      // A real GL_OUT_OF_MEMORY: another strategy needs the same bytes; stop and say so.
      core.stats.on_out_of_memory();
      break;
    }
    core.stats.on_fallback();
    spdlog::warn("[context={}] buffer '{}': {} failed ({}); trying the next strategy", core.name, desc.tag,
                 to_string(s), last.message);
  }
  core.budget.release(desc.size);
  last.message = fmt::format("buffer '{}' ({} bytes, {}): {}", desc.tag, desc.size, to_string(desc.use), last.message);
  return std::unexpected(last);
}

void unified_buffer::destroy() noexcept {
  if (!storage_) {
    return;
  }
  const bool alive = core_->alive.load(std::memory_order_acquire);
  if (alive) {
    core_->check_thread();
  }
  storage_->destroy(alive);
  storage_.reset();
  core_->unregister_live(id_);
  core_->budget.release(size_);
  core_->stats.on_free(size_);
  core_.reset();
  transition_to(map_state::released);
}

bool unified_buffer::is_coherent() const noexcept {
  return storage_ && storage_->coherent();
}
unsigned unified_buffer::gl_name() const noexcept {
  return storage_ ? storage_->gl_name() : 0;
}
std::span<std::byte> unified_buffer::cpu_view() const noexcept {
  return storage_ ? storage_->view() : std::span<std::byte>{};
}

result<std::uint64_t> unified_buffer::check_range(std::uint64_t offset, std::uint64_t size) const {
  if (!storage_) {
    return make_error(error_kind::validation, "buffer is released (empty or moved-from)");
  }
  const std::uint64_t length = size == 0 && offset <= size_ ? size_ - offset : size;
  if (offset > size_ || length > size_ - offset) {
    return make_error(error_kind::validation, fmt::format("buffer '{}': offset {} + size {} exceeds buffer size {}",
                                                          tag_, offset, length, size_));
  }
  return length;
}

result<void> unified_buffer::flush(std::uint64_t offset, std::uint64_t size) {
  auto length = check_range(offset, size);
  if (!length) {
    return std::unexpected(length.error());
  }
  core_->check_thread();
  if (state_ != map_state::gl_mapped || storage_->coherent() || *length == 0) {
    return {};
  }
  return storage_->to_gpu(*core_, offset, *length);
}

result<void> unified_buffer::make_visible_to_gpu(std::uint64_t offset, std::uint64_t size) {
  auto length = check_range(offset, size);
  if (!length) {
    return std::unexpected(length.error());
  }
  core_->check_thread();
  if (*length == 0) {
    return {};
  }
  return storage_->to_gpu(*core_, offset, *length);
}

result<void> unified_buffer::make_visible_to_cpu(std::uint64_t offset, std::uint64_t size,
                                                 std::chrono::nanoseconds timeout) {
  auto length = check_range(offset, size);
  if (!length) {
    return std::unexpected(length.error());
  }
  core_->check_thread();
  if (state_ == map_state::host_shadow) {
    return *length == 0 ? result<void>{} : storage_->readback(*core_, offset, *length);
  }
  // Shader writes (SSBO, image stores) are incoherent memory accesses: the client sees them
  // through any persistent map, coherent or not, only after this barrier and a fence.
  glMemoryBarrier(GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT);
  core_->stats.on_barrier();
  return fence::insert(core_).wait(timeout);
}

result<void> unified_buffer::write(std::uint64_t offset, std::span<const std::byte> bytes) {
  auto length = check_range(offset, bytes.size());
  if (!length) {
    return std::unexpected(length.error());
  }
  if (bytes.empty()) {
    return {};
  }
  std::memcpy(storage_->view().data() + offset, bytes.data(), bytes.size());
  core_->stats.on_copy(copy_path::cpu_memcpy, bytes.size());
  return {};
}

result<void> unified_buffer::read(std::uint64_t offset, std::span<std::byte> bytes) const {
  auto length = check_range(offset, bytes.size());
  if (!length) {
    return std::unexpected(length.error());
  }
  if (bytes.empty()) {
    return {};
  }
  if (!storage_->readable()) {
    return make_error(error_kind::validation,
                      fmt::format("buffer '{}' is mapped write-only (usage {}): create it with gpu_to_cpu or "
                                  "bidirectional to read it on the CPU",
                                  tag_, to_string(usage_)));
  }
  std::memcpy(bytes.data(), storage_->view().data() + offset, bytes.size());
  core_->stats.on_copy(copy_path::cpu_memcpy, bytes.size());
  return {};
}

}  // namespace gpusoak::gpu
