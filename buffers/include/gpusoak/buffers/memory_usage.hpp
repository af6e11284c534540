// GPU memory in use, as the driver reports it, read at the moment of the call (the probe reads it
// once, at context creation: capabilities::memory). The soak runner samples it for the gate's
// gpu_memory_leak_slope_bytes_per_hour.
#pragma once

#include <cstdint>
#include <optional>

#include "gpusoak/buffers/capabilities.hpp"

namespace gpusoak::gpu {

// Reads GPU memory in use on the calling thread's current context, which `caps` was probed on.
//  * GL_NVX_gpu_memory_info: dedicated video memory minus what is available now: the device's
//    use, other processes' included (a leak slope of it is the device's; a quiet device is assumed).
//  * GL_ATI_meminfo: free VBO memory at the probe minus free memory now: what was taken since the
//    context was made (negative readings clamp to 0).
// Empty when the driver offers neither extension (Mesa llvmpipe, most Mesa drivers).
[[nodiscard]] std::optional<std::uint64_t> gpu_memory_used_bytes(const capabilities& caps);

}  // namespace gpusoak::gpu
