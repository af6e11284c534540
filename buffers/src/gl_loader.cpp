#include "gl_loader.hpp"

#include <glad/gl.h>

#include <algorithm>
#include <cstddef>
#include <mutex>

namespace gpusoak::gpu::detail {
namespace {

// Guards the two "loaded" flags and the one write of each table; a caller that returns from a
// load function has synchronized with that write, so its later unlocked reads are safe.
std::mutex& loader_mutex() {
  static std::mutex mutex;
  return mutex;
}
bool egl_loaded = false;
bool gl_loaded = false;

// The version of the context current on this thread (GL 3.0+ queries; 0 when older or none).
int current_gl_version() {
  GLint major = 0;
  GLint minor = 0;
  glGetIntegerv(GL_MAJOR_VERSION, &major);
  glGetIntegerv(GL_MINOR_VERSION, &minor);
  return major * 10 + minor;
}

}  // namespace

// Any display this libEGL can initialize: glad loads the core functions up to the version a
// display reports (without one it assumes 1.0, and eglBindAPI stays null). Under libglvnd the
// pointers it loads are dispatch stubs, the same whichever display reported the version.
EGLDisplay some_initialized_display() {
  EGLDisplay display = EGL_NO_DISPLAY;
  EGLDeviceEXT device = nullptr;
  EGLint count = 0;
  if (eglQueryDevicesEXT != nullptr && eglQueryDevicesEXT(1, &device, &count) == EGL_TRUE && count > 0) {
    display = eglGetPlatformDisplayEXT(EGL_PLATFORM_DEVICE_EXT, device, nullptr);
  }
  if (display == EGL_NO_DISPLAY && egl_has_extension(EGL_NO_DISPLAY, "EGL_MESA_platform_surfaceless")) {
    display = eglGetPlatformDisplayEXT(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, nullptr);
  }
  // Never eglTerminate (context.cpp says why); initializing twice is a no-op.
  if (display == EGL_NO_DISPLAY || eglInitialize(display, nullptr, nullptr) != EGL_TRUE) {
    return EGL_NO_DISPLAY;
  }
  return display;
}

bool egl_has_extension(EGLDisplay display, std::string_view extension) {
  const char* list = eglQueryString(display, EGL_EXTENSIONS);
  if (list == nullptr) {
    return false;
  }
  // Whole space-separated names only: EGL_KHR_create_context must not match
  // EGL_KHR_create_context_no_error.
  const std::string_view names(list);
  for (std::size_t start = 0; start < names.size();) {
    const std::size_t end = std::min(names.find(' ', start), names.size());
    if (names.substr(start, end - start) == extension) {
      return true;
    }
    start = end + 1;
  }
  return false;
}

bool load_egl() {
  std::scoped_lock lock(loader_mutex());
  if (!egl_loaded && gladLoaderLoadEGL(EGL_NO_DISPLAY) != 0) {
    const EGLDisplay display = some_initialized_display();
    egl_loaded = display != EGL_NO_DISPLAY && gladLoaderLoadEGL(display) != 0;
  }
  return egl_loaded;
}

int load_gl(void* (*loader)(const char*)) {
  {
    std::scoped_lock lock(loader_mutex());
    if (!gl_loaded) {
      // glad loads what the current context's version offers: keep trying until one has 4.5.
      const int version = gladLoadGL(reinterpret_cast<GLADloadfunc>(loader));
      gl_loaded = GLAD_VERSION_MAJOR(version) * 10 + GLAD_VERSION_MINOR(version) >= 45;
      if (!gl_loaded) {
        return GLAD_VERSION_MAJOR(version) * 10 + GLAD_VERSION_MINOR(version);
      }
    }
  }
  return current_gl_version();
}

}  // namespace gpusoak::gpu::detail
