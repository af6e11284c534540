// persistent_coherent and persistent_flush: ARB_buffer_storage, mapped once for the lifetime.
#include <glad/gl.h>

#include <algorithm>

#include "context_core.hpp"
#include "storage.hpp"

namespace gpusoak::gpu::detail {
namespace {

class persistent_storage final : public storage {
 public:
  persistent_storage(unsigned name, std::span<std::byte> view, bool coherent, bool readable,
                     std::uint64_t flush_alignment)
      : coherent_(coherent), readable_(readable), flush_alignment_(flush_alignment) {
    name_ = name;
    view_ = view;
  }

  void destroy(bool gl_alive) noexcept override {
    if (gl_alive && name_ != 0) {
      glUnmapNamedBuffer(name_);
      glDeleteBuffers(1, &name_);
    }
    name_ = 0;
    view_ = {};
  }

  map_state mapping() const noexcept override { return map_state::gl_mapped; }
  bool coherent() const noexcept override { return coherent_; }
  bool readable() const noexcept override { return readable_; }

  result<void> to_gpu(context_core& core, std::uint64_t offset, std::uint64_t size) override {
    if (coherent_) {
      return {};  // coherent writes are visible to commands issued after them
    }
    // Widen to whole cache lines: drivers flush by line, and a partial line at either end is
    // what goes stale.
    const std::uint64_t begin = offset / flush_alignment_ * flush_alignment_;
    const std::uint64_t end = std::min<std::uint64_t>(
        (offset + size + flush_alignment_ - 1) / flush_alignment_ * flush_alignment_, view_.size());
    glFlushMappedNamedBufferRange(name_, static_cast<GLintptr>(begin), static_cast<GLsizeiptr>(end - begin));
    core.stats.on_flush();
    return {};
  }

 private:
  bool coherent_;
  bool readable_;
  std::uint64_t flush_alignment_;
};

}  // namespace

result<std::unique_ptr<storage>> make_persistent_storage(context_core& core, std::uint64_t size, usage use,
                                                         bool coherent) {
  // Always writable: producers write, and consumers poison outputs before a run.
  const bool readable = use == usage::gpu_to_cpu || use == usage::bidirectional;
  GLbitfield access = GL_MAP_WRITE_BIT | GL_MAP_PERSISTENT_BIT;
  if (readable) access |= GL_MAP_READ_BIT;
  if (coherent) access |= GL_MAP_COHERENT_BIT;
  GLbitfield storage_flags = access;
  // Readback wants cached host memory; uploads keep the driver's placement (NVIDIA was reported
  // faster without the bit, Mesa would put the buffer in GTT).
  if (readable) storage_flags |= GL_CLIENT_STORAGE_BIT;
  const GLbitfield map_flags = access | (coherent ? 0 : GL_MAP_FLUSH_EXPLICIT_BIT);

  GLuint name = 0;
  clear_gl_errors();
  glCreateBuffers(1, &name);
  glNamedBufferStorage(name, static_cast<GLsizeiptr>(size), nullptr, storage_flags);
  if (auto ok = check_gl("glNamedBufferStorage", size); !ok) {
    glDeleteBuffers(1, &name);
    return std::unexpected(ok.error());
  }
  void* pointer = glMapNamedBufferRange(name, 0, static_cast<GLsizeiptr>(size), map_flags);
  if (pointer == nullptr) {
    auto failed = check_gl("glMapNamedBufferRange", size);
    glDeleteBuffers(1, &name);
    return std::unexpected(failed ? buffer_error{error_kind::internal, "glMapNamedBufferRange returned null"}
                                  : failed.error());
  }
  core.stats.on_map();
  const auto alignment =
      static_cast<std::uint64_t>(std::max<std::int64_t>(64, core.caps.limit.min_map_buffer_alignment));
  return std::make_unique<persistent_storage>(name, std::span(static_cast<std::byte*>(pointer), size), coherent,
                                              readable, alignment);
}

}  // namespace gpusoak::gpu::detail
