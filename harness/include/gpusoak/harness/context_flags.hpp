// The flags every GPU-using command shares: which device, backend, masked features, budget.
#pragma once

#include <vector>

#include "gpusoak/buffers/context.hpp"
#include "gpusoak/harness/cli_args.hpp"

namespace gpusoak::harness {

// --device N, --backend NAME, --disable LIST (overrides GPUSOAK_DISABLE), --budget BYTES.
[[nodiscard]] std::vector<flag_spec> context_flag_specs();
// Builds context options from those flags and the environment; errors name the flag.
[[nodiscard]] gpu::result<gpu::context_options> context_options_from(const cli_args& args);

}  // namespace gpusoak::harness
