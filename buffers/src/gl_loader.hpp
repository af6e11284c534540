// Loads GL and EGL entry points into glad's tables, once per process: under libglvnd the pointers
// are dispatch stubs valid for every context, so loading once is correct. After the first
// successful load the tables are only read, without a lock, by every thread that makes GL or EGL
// calls; loading them again (even with the same values) would race with those reads, and glad's
// EGL extension flags would flip between the client's and a display's values (ThreadSanitizer
// showed both when each new context reloaded the tables). So nothing here writes a table twice,
// and display extensions are asked of the display, not read from glad's process-wide flags.
#pragma once

#include <glad/egl.h>

#include <string_view>

namespace gpusoak::gpu::detail {

// EGL entry points (client and core, up to the version a display reports), loaded by the first
// call that succeeds. False when libEGL cannot be loaded or no display of it initializes.
// Thread-safe.
bool load_egl();
// Whether display (initialized; EGL_NO_DISPLAY for client extensions) lists extension in
// EGL_EXTENSIONS. Thread-safe; writes nothing.
bool egl_has_extension(EGLDisplay display, std::string_view extension);
// GL entry points, loaded through `loader` (eglGetProcAddress or glfwGetProcAddress) by the first
// call whose current context provides 4.5. Returns the version of the context current on this
// thread as major*10+minor, 0 on failure. Thread-safe.
int load_gl(void* (*loader)(const char*));

}  // namespace gpusoak::gpu::detail
