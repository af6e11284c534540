#include "gl_loader.hpp"

#include <glad/gl.h>

#include <mutex>

namespace gpusoak::gpu::detail {
namespace {
std::mutex& loader_mutex() {
  static std::mutex mutex;
  return mutex;
}
}  // namespace

bool load_egl_client() {
  std::scoped_lock lock(loader_mutex());
  return gladLoaderLoadEGL(EGL_NO_DISPLAY) != 0;
}

bool load_egl_display(EGLDisplay display) {
  std::scoped_lock lock(loader_mutex());
  return gladLoaderLoadEGL(display) != 0;
}

int load_gl(void* (*loader)(const char*)) {
  std::scoped_lock lock(loader_mutex());
  const int version = gladLoadGL(reinterpret_cast<GLADloadfunc>(loader));
  return GLAD_VERSION_MAJOR(version) * 10 + GLAD_VERSION_MINOR(version);
}

}  // namespace gpusoak::gpu::detail
