#include "gpusoak/buffers/scratch_buffer.hpp"

#include <fmt/format.h>
#include <glad/gl.h>

#include <limits>
#include <utility>

#include "context_core.hpp"
#include "storage.hpp"

namespace gpusoak::gpu {

result<scratch_buffer> scratch_buffer::create(context& ctx, std::uint64_t size, std::string tag) {
  ctx.check_thread();
  detail::context_core& core = *ctx.core();
  if (size == 0) {
    return make_error(error_kind::validation, fmt::format("scratch '{}': size 0, a buffer needs at least 1 byte", tag));
  }
  if (size > static_cast<std::uint64_t>(std::numeric_limits<GLsizeiptr>::max())) {
    return make_error(error_kind::validation, fmt::format("scratch '{}': size {} exceeds GLsizeiptr", tag, size));
  }
  if (auto reserved = core.budget.reserve(size); !reserved) {
    core.stats.on_out_of_memory();
    return std::unexpected(reserved.error());
  }
  GLuint name = 0;
  detail::clear_gl_errors();
  glCreateBuffers(1, &name);
  if (core.caps.ext.ARB_buffer_storage) {
    glNamedBufferStorage(name, static_cast<GLsizeiptr>(size), nullptr, 0);  // no map, no API writes
  } else {
    glNamedBufferData(name, static_cast<GLsizeiptr>(size), nullptr, GL_DYNAMIC_COPY);
  }
  if (auto ok = detail::check_gl("scratch storage", size); !ok) {
    glDeleteBuffers(1, &name);
    core.budget.release(size);
    if (ok.error().kind == error_kind::out_of_memory) core.stats.on_out_of_memory();
    return make_error(ok.error().kind, fmt::format("scratch '{}': {}", tag, ok.error().message));
  }
  scratch_buffer buffer;
  buffer.core_ = ctx.core();
  buffer.name_ = name;
  buffer.size_ = size;
  buffer.id_ = core.register_live(leak_record{tag, size, "gpu_only"});
  buffer.tag_ = std::move(tag);
  core.stats.on_allocate(size);
  return buffer;
}

scratch_buffer::scratch_buffer() noexcept = default;
scratch_buffer::~scratch_buffer() {
  destroy();
}

scratch_buffer::scratch_buffer(scratch_buffer&& other) noexcept
    : core_(std::move(other.core_)),
      name_(std::exchange(other.name_, 0)),
      id_(std::exchange(other.id_, 0)),
      size_(std::exchange(other.size_, 0)),
      tag_(std::move(other.tag_)) {}

scratch_buffer& scratch_buffer::operator=(scratch_buffer&& other) noexcept {
  if (this != &other) {
    destroy();
    core_ = std::move(other.core_);
    name_ = std::exchange(other.name_, 0);
    id_ = std::exchange(other.id_, 0);
    size_ = std::exchange(other.size_, 0);
    tag_ = std::move(other.tag_);
  }
  return *this;
}

void scratch_buffer::destroy() noexcept {
  if (!core_) {
    return;
  }
  // A dead context took its objects with it (as for unified_buffer): only the books are kept.
  if (core_->alive.load(std::memory_order_acquire)) {
    core_->check_thread();
    glDeleteBuffers(1, &name_);
  }
  core_->unregister_live(id_);
  core_->budget.release(size_);
  core_->stats.on_free(size_);
  core_.reset();
  name_ = 0;
  size_ = 0;
}

}  // namespace gpusoak::gpu
