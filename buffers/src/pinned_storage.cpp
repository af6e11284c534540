// pinned_host: GL_AMD_pinned_memory, a GL buffer over page-aligned host memory we own.
#include <glad/gl.h>

#include <cstdlib>
#include <new>

#include "context_core.hpp"
#include "storage.hpp"

namespace gpusoak::gpu::detail {
namespace {

constexpr std::uint64_t page_size = 4096;  // the extension demands page-aligned memory

class pinned_storage final : public storage {
 public:
  pinned_storage(unsigned name, std::byte* memory, std::uint64_t size) : memory_(memory) {
    name_ = name;
    view_ = std::span(memory, size);
  }

  void destroy(bool gl_alive) noexcept override {
    if (gl_alive && name_ != 0) {
      // The GPU may still read or write the pages: they must not go back to the allocator
      // (and maybe to another buffer) before it is done.
      glFinish();
      glDeleteBuffers(1, &name_);
    }
    std::free(memory_);
    memory_ = nullptr;
    name_ = 0;
    view_ = {};
  }

  map_state mapping() const noexcept override { return map_state::gl_mapped; }
  bool coherent() const noexcept override { return true; }
  bool readable() const noexcept override { return true; }  // ordinary cached host memory
  result<void> to_gpu(context_core& /*core*/, std::uint64_t /*offset*/, std::uint64_t /*size*/) override { return {}; }

 private:
  std::byte* memory_;
};

}  // namespace

result<std::unique_ptr<storage>> make_pinned_storage(context_core& core, std::uint64_t size, usage /*use*/) {
  const std::uint64_t rounded = (size + page_size - 1) / page_size * page_size;
  auto* memory = static_cast<std::byte*>(std::aligned_alloc(page_size, rounded));
  if (memory == nullptr) {
    return make_error(error_kind::out_of_memory, "aligned_alloc for pinned host memory failed");
  }
  GLuint name = 0;
  clear_gl_errors();
  glGenBuffers(1, &name);
  glBindBuffer(GL_EXTERNAL_VIRTUAL_MEMORY_BUFFER_AMD, name);
  glBufferData(GL_EXTERNAL_VIRTUAL_MEMORY_BUFFER_AMD, static_cast<GLsizeiptr>(rounded), memory, GL_STREAM_DRAW);
  glBindBuffer(GL_EXTERNAL_VIRTUAL_MEMORY_BUFFER_AMD, 0);
  // Creation is where Mesa + amdgpu refuses (quirks.pinned_memory_unreliable): the caller falls
  // back on this error.
  if (auto ok = check_gl("glBufferData(GL_EXTERNAL_VIRTUAL_MEMORY_BUFFER_AMD)", rounded); !ok) {
    glDeleteBuffers(1, &name);
    std::free(memory);
    return std::unexpected(ok.error());
  }
  core.stats.on_map();
  return std::make_unique<pinned_storage>(name, memory, size);
}

}  // namespace gpusoak::gpu::detail
