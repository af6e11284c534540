#include "gpusoak/buffers/context.hpp"

#include <glad/egl.h>
#include <glad/gl.h>
// glad's headers first: GLFW must not pull in the system GL header.
#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>
#include <spdlog/spdlog.h>

#include <fmt/format.h>
#include <array>
#include <string>

#include "context_core.hpp"
#include "debug_output.hpp"
#include "gl_loader.hpp"
#include "probe.hpp"

namespace gpusoak::gpu {

struct context::native {
  backend which = backend::egl_device;
  EGLDisplay display = EGL_NO_DISPLAY;
  EGLContext egl = EGL_NO_CONTEXT;
  GLFWwindow* window = nullptr;
};

std::string_view to_string(backend b) noexcept {
  switch (b) {
    case backend::egl_device: return "egl_device";
    case backend::egl_surfaceless: return "egl_surfaceless";
    case backend::glfw_hidden: return "glfw_hidden";
  }
  return "?";
}

result<backend> parse_backend(std::string_view text) {
  for (backend b : {backend::egl_device, backend::egl_surfaceless, backend::glfw_hidden}) {
    if (text == to_string(b)) {
      return b;
    }
  }
  return make_error(
      error_kind::validation,
      fmt::format("unknown backend '{}': use egl_device, egl_surfaceless or glfw_hidden", std::string(text)));
}

namespace {

std::string egl_error_text() {
  return fmt::format("EGL error 0x{:04x}", eglGetError());
}

result<std::vector<EGLDeviceEXT>> query_devices() {
  if (!detail::load_egl()) {
    return make_error(error_kind::unsupported, "libEGL could not be loaded, or none of its displays initializes");
  }
  // The entry point, not the extension flag: NVIDIA's libEGL may advertise only the older
  // EGL_EXT_device_base (enumeration + query in one), and glad loads the function for either.
  if (eglQueryDevicesEXT == nullptr) {
    return std::vector<EGLDeviceEXT>{};
  }
  EGLint count = 0;
  if (eglQueryDevicesEXT(0, nullptr, &count) != EGL_TRUE) {
    return make_error(error_kind::internal, "eglQueryDevicesEXT failed: " + egl_error_text());
  }
  std::vector<EGLDeviceEXT> devices(static_cast<std::size_t>(count));
  if (count > 0 && eglQueryDevicesEXT(count, devices.data(), &count) != EGL_TRUE) {
    return make_error(error_kind::internal, "eglQueryDevicesEXT failed: " + egl_error_text());
  }
  devices.resize(static_cast<std::size_t>(count));
  return devices;
}

// Opens the EGL display for the backend; egl_device falls back to surfaceless when no device
// enumerates (old Mesa, containers without /dev/dri), which the caller logs.
result<std::pair<EGLDisplay, backend>> open_display(const context_options& options) {
  auto devices = query_devices();
  if (!devices) {
    return std::unexpected(devices.error());
  }
  backend which = options.which;
  if (which == backend::egl_device && devices->empty()) {
    spdlog::warn("[context={}] eglQueryDevicesEXT {}; falling back to the surfaceless platform", options.name,
                 eglQueryDevicesEXT == nullptr ? "is not available" : "lists no device");
    which = backend::egl_surfaceless;
  }
  EGLDisplay display = EGL_NO_DISPLAY;
  if (which == backend::egl_device) {
    if (options.device_index < 0 || static_cast<std::size_t>(options.device_index) >= devices->size()) {
      return make_error(error_kind::validation,
                        fmt::format("device index {} out of range: {} EGL device(s), use 0..{}", options.device_index,
                                    devices->size(), devices->size() - 1));
    }
    display = eglGetPlatformDisplayEXT(EGL_PLATFORM_DEVICE_EXT, (*devices)[options.device_index], nullptr);
  } else {
    if (!detail::egl_has_extension(EGL_NO_DISPLAY, "EGL_MESA_platform_surfaceless")) {
      return make_error(error_kind::unsupported, "EGL_MESA_platform_surfaceless is not available");
    }
    display = eglGetPlatformDisplayEXT(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, nullptr);
  }
  if (display == EGL_NO_DISPLAY) {
    return make_error(error_kind::unsupported, "eglGetPlatformDisplayEXT failed: " + egl_error_text());
  }
  return std::pair{display, which};
}

result<std::unique_ptr<context::native>> create_egl(const context_options& options, EGLContext share) {
  auto opened = open_display(options);
  if (!opened) {
    return std::unexpected(opened.error());
  }
  auto handles = std::make_unique<context::native>();
  handles->display = opened->first;
  handles->which = opened->second;
  EGLint major = 0;
  EGLint minor = 0;
  // Never eglTerminate: EGL displays are process-wide, and terminating one destroys the sibling
  // contexts other threads are using. eglInitialize on an initialized display is a no-op.
  if (eglInitialize(handles->display, &major, &minor) != EGL_TRUE) {
    return make_error(error_kind::unsupported, "eglInitialize failed: " + egl_error_text());
  }
  if (eglBindAPI(EGL_OPENGL_API) != EGL_TRUE) {
    return make_error(error_kind::unsupported, "eglBindAPI(EGL_OPENGL_API) failed: " + egl_error_text());
  }
  EGLConfig config = EGL_NO_CONFIG_KHR;
  if (!detail::egl_has_extension(handles->display, "EGL_KHR_no_config_context")) {
    const std::array<EGLint, 5> wanted{EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT, EGL_SURFACE_TYPE, EGL_PBUFFER_BIT,
                                       EGL_NONE};
    EGLint found = 0;
    if (eglChooseConfig(handles->display, wanted.data(), &config, 1, &found) != EGL_TRUE || found == 0) {
      return make_error(error_kind::unsupported, "no EGL config renders OpenGL: " + egl_error_text());
    }
  }
  const std::array<EGLint, 9> attributes{EGL_CONTEXT_MAJOR_VERSION,
                                         4,
                                         EGL_CONTEXT_MINOR_VERSION,
                                         5,
                                         EGL_CONTEXT_OPENGL_PROFILE_MASK,
                                         EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
                                         EGL_CONTEXT_OPENGL_DEBUG,
                                         options.debug_output ? EGL_TRUE : EGL_FALSE,
                                         EGL_NONE};
  handles->egl = eglCreateContext(handles->display, config, share, attributes.data());
  if (handles->egl == EGL_NO_CONTEXT) {
    return make_error(error_kind::unsupported, "no OpenGL 4.5 core context on this EGL display: " + egl_error_text());
  }
  if (eglMakeCurrent(handles->display, EGL_NO_SURFACE, EGL_NO_SURFACE, handles->egl) != EGL_TRUE) {
    eglDestroyContext(handles->display, handles->egl);
    return make_error(error_kind::unsupported, "eglMakeCurrent (surfaceless) failed: " + egl_error_text());
  }
  if (detail::load_gl(reinterpret_cast<void* (*)(const char*)>(eglGetProcAddress)) < 45) {
    eglMakeCurrent(handles->display, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
    eglDestroyContext(handles->display, handles->egl);
    return make_error(error_kind::unsupported, "the EGL context does not provide OpenGL 4.5");
  }
  return handles;
}

// GLFW wants glfwInit and window creation on the main thread; callers of this backend know.
result<std::unique_ptr<context::native>> create_glfw(const context_options& options, GLFWwindow* share) {
  if (glfwInit() != GLFW_TRUE) {
    const char* text = nullptr;
    glfwGetError(&text);
    return make_error(error_kind::unsupported,
                      fmt::format("glfwInit failed (no display?): {}", text != nullptr ? text : "unknown"));
  }
  glfwDefaultWindowHints();
  glfwWindowHint(GLFW_VISIBLE, GLFW_FALSE);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 4);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 5);
  glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
  glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GLFW_TRUE);
  glfwWindowHint(GLFW_OPENGL_DEBUG_CONTEXT, options.debug_output ? GLFW_TRUE : GLFW_FALSE);
  auto handles = std::make_unique<context::native>();
  handles->which = backend::glfw_hidden;
  handles->window = glfwCreateWindow(64, 64, options.name.c_str(), nullptr, share);
  if (handles->window == nullptr) {
    const char* text = nullptr;
    glfwGetError(&text);
    return make_error(error_kind::unsupported,
                      fmt::format("no OpenGL 4.5 core window: {}", text != nullptr ? text : "unknown"));
  }
  glfwMakeContextCurrent(handles->window);
  if (detail::load_gl(reinterpret_cast<void* (*)(const char*)>(glfwGetProcAddress)) < 45) {
    glfwDestroyWindow(handles->window);
    return make_error(error_kind::unsupported, "the GLFW context does not provide OpenGL 4.5");
  }
  return handles;
}

}  // namespace

result<std::vector<device_info>> list_devices() {
  auto devices = query_devices();
  if (!devices) {
    return std::unexpected(devices.error());
  }
  std::vector<device_info> out;
  for (std::size_t i = 0; i < devices->size(); ++i) {
    device_info info;
    info.index = static_cast<int>(i);
    if (eglQueryDeviceStringEXT != nullptr) {
      const char* ext = eglQueryDeviceStringEXT((*devices)[i], EGL_EXTENSIONS);
      info.extensions = ext != nullptr ? ext : "";
      if (info.extensions.find("EGL_EXT_device_drm") != std::string::npos) {
        const char* node = eglQueryDeviceStringEXT((*devices)[i], EGL_DRM_DEVICE_FILE_EXT);
        info.drm_node = node != nullptr ? node : "";
      }
    }
    info.software = info.extensions.find("EGL_MESA_device_software") != std::string::npos;
    out.push_back(std::move(info));
  }
  return out;
}

context::context(std::shared_ptr<detail::context_core> core, std::unique_ptr<native> handles, context_options options)
    : core_(std::move(core)), native_(std::move(handles)), options_(std::move(options)) {
  options_.which = native_->which;  // as opened: a sibling skips the fallback search and its log line
  options_.share_with = nullptr;
  options_.on_leak = nullptr;
}

result<std::unique_ptr<context>> context::create(const context_options& options) {
  std::unique_ptr<native> handles;
  if (options.which == backend::glfw_hidden) {
    GLFWwindow* share = nullptr;
    if (options.share_with != nullptr) {
      if (options.share_with->which() != backend::glfw_hidden) {
        return make_error(error_kind::validation, "share_with: a GLFW context can only share with a GLFW context");
      }
      share = options.share_with->native_->window;
    }
    auto made = create_glfw(options, share);
    if (!made) {
      return std::unexpected(made.error());
    }
    handles = std::move(*made);
  } else {
    EGLContext share = EGL_NO_CONTEXT;
    if (options.share_with != nullptr) {
      if (options.share_with->which() == backend::glfw_hidden) {
        return make_error(error_kind::validation, "share_with: an EGL context can only share with an EGL context");
      }
      share = options.share_with->native_->egl;
    }
    auto made = create_egl(options, share);
    if (!made) {
      return std::unexpected(made.error());
    }
    handles = std::move(*made);
  }

  auto core = std::make_shared<detail::context_core>(options.name, default_budget_bytes);
  core->on_leak = options.on_leak;
  core->caps = apply_mask(detail::probe_current(), options.mask);
  core->budget.set_limit(options.budget_bytes.value_or(derive_budget(core->caps)));
  if (options.debug_output && core->caps.ext.KHR_debug) {
    detail::install_debug_output(*core);
  }
  spdlog::info("[context={}] {} on {}: {} ({}), budget {} MiB{}", core->name, to_string(handles->which),
               core->caps.renderer, core->caps.version, to_string(core->caps.vendor_kind), core->budget.limit() >> 20,
               core->caps.masked.empty() ? "" : ", masked: " + core->caps.masked);
  return std::unique_ptr<context>(new context(std::move(core), std::move(handles), options));
}

context::~context() {
  core_->check_thread();
  cache_.clear();  // cached programs go while their context is still current
  core_->report_leaks();
  core_->alive.store(false, std::memory_order_release);
  if (native_->window != nullptr) {
    glfwMakeContextCurrent(nullptr);
    glfwDestroyWindow(native_->window);
    return;
  }
  eglMakeCurrent(native_->display, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
  eglDestroyContext(native_->display, native_->egl);
  eglReleaseThread();
}

const capabilities& context::caps() const noexcept {
  return core_->caps;
}
gpu::counters& context::counters() noexcept {
  return core_->stats;
}
const gpu::counters& context::counters() const noexcept {
  return core_->stats;
}
memory_budget& context::budget() noexcept {
  return core_->budget;
}
const memory_budget& context::budget() const noexcept {
  return core_->budget;
}
backend context::which() const noexcept {
  return native_->which;
}
const std::string& context::name() const noexcept {
  return core_->name;
}
context_options context::sibling_options(std::string name) const {
  context_options options = options_;
  options.name = std::move(name);
  return options;
}
std::uint64_t context::live_buffer_count() const {
  return core_->live_count();
}
std::shared_ptr<const void> context::find_cached(std::string_view key) const {
  check_thread();
  const auto it = cache_.find(key);
  return it != cache_.end() ? it->second : nullptr;
}

void context::store_cached(std::string key, std::shared_ptr<const void> object) {
  check_thread();
  cache_.insert_or_assign(std::move(key), std::move(object));
}

void context::check_thread() const {
  core_->check_thread();
}

}  // namespace gpusoak::gpu
