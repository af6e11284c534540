#include "gpusoak/harness/context_flags.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "gpusoak/scenarios/units.hpp"

namespace gpusoak::harness {

std::vector<flag_spec> context_flag_specs() {
  return {
      {"device", "N", "EGL device index (see `gpusoak devices`; default 0)"},
      {"backend", "NAME", "egl_device (default), egl_surfaceless or glfw_hidden"},
      {"disable", "LIST", "switch features off: buffer_storage,coherent,pinned (default: $GPUSOAK_DISABLE)"},
      {"budget", "BYTES", "memory budget, e.g. 2GiB (default: from the driver, else 2 GiB)"},
  };
}

result<gpu::context_options> context_options_from(const cli_args& args) {
  gpu::context_options options;
  options.name = "cli";
  if (auto device = args.value("device")) {
    const auto [end, ec] = std::from_chars(device->data(), device->data() + device->size(), options.device_index);
    if (ec != std::errc{} || end != device->data() + device->size() || options.device_index < 0) {
      return make_error(error_kind::validation,
                        fmt::format("--device '{}': use a device index 0, 1, ... (see `gpusoak devices`)", *device));
    }
  }
  if (auto name = args.value("backend")) {
    auto which = gpu::parse_backend(*name);
    if (!which) return make_error(error_kind::validation, "--backend: " + which.error().message);
    options.which = *which;
  }
  // The flag wins over the environment; the error names whichever gave the text (the env
  // reader prefixes GPUSOAK_DISABLE itself).
  const auto flag = args.value("disable");
  auto mask = flag ? gpu::parse_capability_mask(*flag) : gpu::capability_mask_from_env();
  if (!mask) {
    return make_error(error_kind::validation, (flag ? "--disable: " : "") + mask.error().message);
  }
  options.mask = *mask;
  if (auto budget = args.value("budget")) {
    auto bytes = scenarios::parse_bytes(*budget);
    if (!bytes) return make_error(error_kind::validation, "--budget: " + bytes.error().message);
    options.budget_bytes = *bytes;
  }
  return options;
}

result<std::size_t> openable_devices(const gpu::context_options& options) {
  if (options.which != gpu::backend::egl_device) return 1;
  GPUSOAK_TRY_ASSIGN(auto devices, gpu::list_devices());
  return std::max<std::size_t>(1, devices.size());
}

}  // namespace gpusoak::harness
