// One OpenGL 4.5 core context, headless (EGL device / surfaceless) or windowed (GLFW, hidden).
//
// Thread affinity: a context is current on the thread that created it and is used only there.
// Every buffer-layer call checks this (cheap: one thread-id compare) and aborts on misuse,
// because a GL call on the wrong thread silently talks to another context or to none.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gpusoak/buffers/budget.hpp"
#include "gpusoak/buffers/capabilities.hpp"
#include "gpusoak/buffers/counters.hpp"
#include "gpusoak/buffers/error.hpp"

namespace gpusoak::gpu {

namespace detail {
struct context_core;
}

enum class backend {
  egl_device,       // EGL_EXT_platform_device: headless, any GPU incl. Mesa's software device
  egl_surfaceless,  // EGL_MESA_platform_surfaceless: Mesa fallback where no device enumerates
  glfw_hidden,      // GLFW hidden window: needs a display (X11; xvfb-run in tests)
};
[[nodiscard]] std::string_view to_string(backend b) noexcept;
[[nodiscard]] result<backend> parse_backend(std::string_view text);

struct device_info {
  int index = 0;
  std::string drm_node;    // EGL_DRM_DEVICE_FILE_EXT, "" for software devices
  std::string extensions;  // the device's EGL extension string
  bool software = false;   // EGL_MESA_device_software
};

// Lists EGL devices (EGL_EXT_device_enumeration). Empty when the platform has none.
[[nodiscard]] result<std::vector<device_info>> list_devices();

// A buffer still alive when its context was destroyed.
struct leak_record {
  std::string tag;
  std::uint64_t bytes = 0;
  std::string strategy;
};

class context;

struct context_options {
  backend which = backend::egl_device;              // egl_device falls back to egl_surfaceless when no
                                                    // device enumerates (logged)
  int device_index = 0;                             // EGL device to open (list_devices())
  const context* share_with = nullptr;              // share objects with this context (same backend/device)
  bool debug_output = true;                         // KHR_debug messages to the log, errors counted
  std::optional<std::uint64_t> budget_bytes;        // overrides the driver-derived budget
  capability_mask mask;                             // features to switch off (capability_mask_from_env());
                                                    // scenarios pass it on through sibling_options()
  std::string name = "ctx0";                        // appears in every log line about this context
  std::function<void(const leak_record&)> on_leak;  // called per leaked buffer at destruction
};

class context {
 public:
  // Creates the context and makes it current on the calling thread. Fails with `unsupported`
  // when no GL 4.5 core context can be had on the backend.
  [[nodiscard]] static result<std::unique_ptr<context>> create(const context_options& options);

  // Must run on the owning thread. Live buffers are reported as leaks (log + on_leak +
  // counters) and their GL objects die with the context; the buffers stay safe to destroy.
  ~context();
  context(const context&) = delete;
  context& operator=(const context&) = delete;

  [[nodiscard]] const capabilities& caps() const noexcept;
  [[nodiscard]] gpu::counters& counters() noexcept;
  [[nodiscard]] const gpu::counters& counters() const noexcept;
  [[nodiscard]] memory_budget& budget() noexcept;
  [[nodiscard]] const memory_budget& budget() const noexcept;
  [[nodiscard]] backend which() const noexcept;
  [[nodiscard]] const std::string& name() const noexcept;
  [[nodiscard]] std::uint64_t live_buffer_count() const;
  // The features this context was created with switched off (caps() already reflects them).
  [[nodiscard]] const capability_mask& mask() const noexcept { return options_.mask; }

  // Options for another context of the same run (a scenario's own worker or churn contexts): this
  // one's backend as opened, device, mask, budget override and debug output, named `name`; no
  // sharing, no leak callback. Every context a run makes goes through this, so a mask given for
  // the run (--disable, GPUSOAK_DISABLE) reaches all of them. Any thread.
  [[nodiscard]] context_options sibling_options(std::string name) const;

  // Aborts with a message when called from a thread other than the owner.
  void check_thread() const;

  // Objects built once per context and shared by everyone using it (compiled programs): the
  // first caller stores, later ones find. They are released before the GL context is destroyed.
  // Owning thread only.
  [[nodiscard]] std::shared_ptr<const void> find_cached(std::string_view key) const;
  void store_cached(std::string key, std::shared_ptr<const void> object);

  // For the layer's own objects (buffers keep the core alive past the context).
  [[nodiscard]] const std::shared_ptr<detail::context_core>& core() const noexcept { return core_; }

  struct native;  // backend handles (EGL or GLFW), defined in the sources

 private:
  context(std::shared_ptr<detail::context_core> core, std::unique_ptr<native> handles, context_options options);
  std::shared_ptr<detail::context_core> core_;
  std::unique_ptr<native> native_;
  context_options options_;  // as created, less share_with and on_leak (sibling_options())
  std::map<std::string, std::shared_ptr<const void>, std::less<>> cache_;
};

}  // namespace gpusoak::gpu
