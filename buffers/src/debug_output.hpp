// Routes GL_KHR_debug messages of one context to the log; errors are also counted.
#pragma once

namespace gpusoak::gpu::detail {
struct context_core;
void install_debug_output(context_core& core);
}  // namespace gpusoak::gpu::detail
