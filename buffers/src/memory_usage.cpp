#include "gpusoak/buffers/memory_usage.hpp"

#include <glad/gl.h>

#include <algorithm>

namespace gpusoak::gpu {

std::optional<std::uint64_t> gpu_memory_used_bytes(const capabilities& caps) {
  if (caps.ext.NVX_gpu_memory_info) {
    GLint dedicated_kib = 0, available_kib = 0;  // KiB, as the extension reports them
    glGetIntegerv(GL_GPU_MEMORY_INFO_DEDICATED_VIDMEM_NVX, &dedicated_kib);
    glGetIntegerv(GL_GPU_MEMORY_INFO_CURRENT_AVAILABLE_VIDMEM_NVX, &available_kib);
    return static_cast<std::uint64_t>(std::max(0, dedicated_kib - available_kib)) << 10;
  }
  if (caps.ext.ATI_meminfo && caps.memory.available_bytes) {
    GLint free_kib[4] = {0, 0, 0, 0};  // total free, largest block, auxiliary total, largest auxiliary
    glGetIntegerv(GL_VBO_FREE_MEMORY_ATI, free_kib);
    const auto now = static_cast<std::uint64_t>(std::max(0, free_kib[0])) << 10;
    return *caps.memory.available_bytes > now ? *caps.memory.available_bytes - now : 0;
  }
  return std::nullopt;
}

}  // namespace gpusoak::gpu
