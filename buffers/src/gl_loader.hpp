// Loads GL and EGL entry points into glad's tables. Process-wide and idempotent: under libglvnd
// the pointers are dispatch stubs valid for every context, so loading once is correct; the lock
// only keeps concurrent first contexts from writing the tables at the same time.
#pragma once

#include <glad/egl.h>

namespace gpusoak::gpu::detail {

// Client EGL entry points (no display). False when libEGL cannot be loaded.
bool load_egl_client();
// Display-level EGL extensions after eglInitialize.
bool load_egl_display(EGLDisplay display);
// GL entry points for the context current on this thread; `loader` is eglGetProcAddress or
// glfwGetProcAddress. Returns the GL version as major*10+minor, 0 on failure.
int load_gl(void* (*loader)(const char*));

}  // namespace gpusoak::gpu::detail
