#include "storage.hpp"

#include <fmt/format.h>
#include <glad/gl.h>

#include "context_core.hpp"

namespace gpusoak::gpu::detail {

result<void> storage::readback(context_core& /*core*/, std::uint64_t /*offset*/, std::uint64_t /*size*/) {
  return make_error(error_kind::internal, "readback on a mapped back end");
}

void clear_gl_errors() noexcept {
  // Bounded: a lost context may report errors forever.
  for (int i = 0; i < 16 && glGetError() != GL_NO_ERROR; ++i) {
  }
}

result<void> check_gl(const char* what, std::uint64_t size) {
  const GLenum error = glGetError();
  if (error == GL_NO_ERROR) {
    return {};
  }
  clear_gl_errors();
  if (error == GL_OUT_OF_MEMORY) {
    return make_error(error_kind::out_of_memory, fmt::format("{} of {} bytes: GL_OUT_OF_MEMORY", what, size));
  }
  return make_error(error_kind::internal, fmt::format("{} of {} bytes: GL error 0x{:04x}", what, size, error));
}

}  // namespace gpusoak::gpu::detail
