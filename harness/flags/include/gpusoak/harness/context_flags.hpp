// The flags every GPU-using command shares: which device, backend, masked features, budget.
#pragma once

#include <vector>

#include "gpusoak/buffers/context.hpp"
#include "gpusoak/harness/cli_args.hpp"

namespace gpusoak::harness {

// --device N, --backend NAME, --disable LIST (overrides GPUSOAK_DISABLE), --budget BYTES.
[[nodiscard]] std::vector<flag_spec> context_flag_specs();
// Builds context options from those flags and the environment; errors name the flag.
[[nodiscard]] result<gpu::context_options> context_options_from(const cli_args& args);

// How many devices a context with these options can open, indices 0 to N-1: the EGL devices that
// enumerate (gpu::list_devices, as `gpusoak devices` lists them) for egl_device, or 1 where none
// enumerates (egl_device falls back to the surfaceless platform) or the backend is one that has no
// device index. Errors come from EGL.
[[nodiscard]] result<std::size_t> openable_devices(const gpu::context_options& options);

}  // namespace gpusoak::harness
