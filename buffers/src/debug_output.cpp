#include "debug_output.hpp"

#include <glad/gl.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <string_view>

#include "context_core.hpp"

namespace gpusoak::gpu::detail {
namespace {

void GLAD_API_PTR on_message(GLenum /*source*/, GLenum type, GLuint id, GLenum severity, GLsizei length,
                             const GLchar* message, const void* user) {
  auto* core = static_cast<context_core*>(const_cast<void*>(user));
  const std::string_view text(message, length >= 0 ? static_cast<std::size_t>(length) : std::strlen(message));
  if (type == GL_DEBUG_TYPE_ERROR) {
    core->stats.on_gl_error();
    spdlog::warn("[context={}] GL error {}: {}", core->name, id, text);
  } else if (severity == GL_DEBUG_SEVERITY_HIGH) {
    spdlog::info("[context={}] GL {}: {}", core->name, id, text);
  } else {
    spdlog::debug("[context={}] GL {}: {}", core->name, id, text);
  }
}

}  // namespace

void install_debug_output(context_core& core) {
  glEnable(GL_DEBUG_OUTPUT);
  // Synchronous so a message is logged on the thread and at the call that caused it.
  glEnable(GL_DEBUG_OUTPUT_SYNCHRONOUS);
  glDebugMessageCallback(on_message, &core);
  glDebugMessageControl(GL_DONT_CARE, GL_DONT_CARE, GL_DEBUG_SEVERITY_NOTIFICATION, 0, nullptr, GL_FALSE);
}

}  // namespace gpusoak::gpu::detail
