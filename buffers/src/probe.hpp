// Reads capabilities from the GL context current on this thread.
#pragma once

#include "gpusoak/buffers/capabilities.hpp"

namespace gpusoak::gpu::detail {
[[nodiscard]] capabilities probe_current();
}
