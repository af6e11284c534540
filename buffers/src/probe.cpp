#include "probe.hpp"

#include <glad/gl.h>

#include <string>
#include <unordered_set>

namespace gpusoak::gpu::detail {
namespace {

std::string gl_string(GLenum name) {
  const auto* text = reinterpret_cast<const char*>(glGetString(name));
  return text != nullptr ? text : "";
}

std::int64_t gl_int64(GLenum name, std::int64_t fallback) {
  GLint64 value = 0;
  while (glGetError() != GL_NO_ERROR) {
  }
  glGetInteger64v(name, &value);
  return glGetError() == GL_NO_ERROR ? static_cast<std::int64_t>(value) : fallback;
}

}  // namespace

capabilities probe_current() {
  capabilities caps;
  caps.vendor = gl_string(GL_VENDOR);
  caps.renderer = gl_string(GL_RENDERER);
  caps.version = gl_string(GL_VERSION);
  caps.glsl_version = gl_string(GL_SHADING_LANGUAGE_VERSION);

  GLint major = 0;
  GLint minor = 0;
  glGetIntegerv(GL_MAJOR_VERSION, &major);
  glGetIntegerv(GL_MINOR_VERSION, &minor);
  caps.limit.gl_major = major;
  caps.limit.gl_minor = minor;
  caps.limit.min_map_buffer_alignment = gl_int64(GL_MIN_MAP_BUFFER_ALIGNMENT, 64);
  caps.limit.ssbo_offset_alignment = gl_int64(GL_SHADER_STORAGE_BUFFER_OFFSET_ALIGNMENT, 256);
  caps.limit.ubo_offset_alignment = gl_int64(GL_UNIFORM_BUFFER_OFFSET_ALIGNMENT, 256);
  caps.limit.max_ssbo_size = gl_int64(GL_MAX_SHADER_STORAGE_BLOCK_SIZE, 0);
  caps.limit.max_compute_invocations = gl_int64(GL_MAX_COMPUTE_WORK_GROUP_INVOCATIONS, 0);
  caps.limit.max_compute_shared_memory = gl_int64(GL_MAX_COMPUTE_SHARED_MEMORY_SIZE, 0);

  // Per context, from glGetStringi: glad's GLAD_GL_* flags are process-wide and would describe
  // whichever context loaded first.
  std::unordered_set<std::string> names;
  GLint count = 0;
  glGetIntegerv(GL_NUM_EXTENSIONS, &count);
  for (GLint i = 0; i < count; ++i) {
    names.emplace(reinterpret_cast<const char*>(glGetStringi(GL_EXTENSIONS, static_cast<GLuint>(i))));
  }
  const auto has = [&](const char* name) { return names.contains(name); };
  // Buffer storage is core in 4.4; a 4.5 context always has it even if the string is absent.
  caps.ext.ARB_buffer_storage = has("GL_ARB_buffer_storage") || major > 4 || (major == 4 && minor >= 4);
  caps.ext.AMD_pinned_memory = has("GL_AMD_pinned_memory");
  caps.ext.NVX_gpu_memory_info = has("GL_NVX_gpu_memory_info");
  caps.ext.ATI_meminfo = has("GL_ATI_meminfo");
  caps.ext.KHR_debug = has("GL_KHR_debug") || major > 4 || (major == 4 && minor >= 3);
  caps.ext.KHR_robustness = has("GL_KHR_robustness");
  caps.coherent_mapping = caps.ext.ARB_buffer_storage;

  if (caps.ext.NVX_gpu_memory_info) {
    // Values are in KiB.
    caps.memory.dedicated_bytes = static_cast<std::uint64_t>(gl_int64(GL_GPU_MEMORY_INFO_DEDICATED_VIDMEM_NVX, 0))
                                  << 10;
    caps.memory.available_bytes =
        static_cast<std::uint64_t>(gl_int64(GL_GPU_MEMORY_INFO_CURRENT_AVAILABLE_VIDMEM_NVX, 0)) << 10;
  } else if (caps.ext.ATI_meminfo) {
    GLint free_kib[4] = {0, 0, 0, 0};
    glGetIntegerv(GL_VBO_FREE_MEMORY_ATI, free_kib);
    caps.memory.available_bytes = static_cast<std::uint64_t>(free_kib[0]) << 10;
  }
  derive_platform_facts(caps);
  return caps;
}

}  // namespace gpusoak::gpu::detail
