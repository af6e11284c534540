// What a GL context can do, as plain data: limits, extensions, quirks. Probed once per context.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gpusoak/buffers/error.hpp"

namespace gpusoak::gpu {

enum class vendor_class { nvidia, amd, intel, mesa_software, arm, qualcomm, other };
[[nodiscard]] std::string_view to_string(vendor_class vendor) noexcept;

struct limits {
  int gl_major = 0;
  int gl_minor = 0;
  std::int64_t min_map_buffer_alignment = 64;  // GL_MIN_MAP_BUFFER_ALIGNMENT
  std::int64_t ssbo_offset_alignment = 256;    // GL_SHADER_STORAGE_BUFFER_OFFSET_ALIGNMENT
  std::int64_t ubo_offset_alignment = 256;     // GL_UNIFORM_BUFFER_OFFSET_ALIGNMENT
  std::int64_t max_ssbo_size = 0;              // GL_MAX_SHADER_STORAGE_BLOCK_SIZE
  std::int64_t max_compute_invocations = 0;    // GL_MAX_COMPUTE_WORK_GROUP_INVOCATIONS
  std::int64_t max_compute_shared_memory = 0;  // GL_MAX_COMPUTE_SHARED_MEMORY_SIZE
};

// One bool per extension, named exactly after it. After masking, false also means "masked".
struct extensions {
  bool ARB_buffer_storage = false;
  bool AMD_pinned_memory = false;
  bool NVX_gpu_memory_info = false;
  bool ATI_meminfo = false;
  bool KHR_debug = false;
  bool KHR_robustness = false;
};

// Known driver bugs and placement facts, one bool each. Set by probe() from vendor and
// renderer strings; each entry in capabilities.cpp names the symptom and where it was seen.
struct quirks {
  bool explicit_flush_broken = false;     // glFlushMappedBufferRange ignored or slow
  bool pinned_memory_unreliable = false;  // AMD_pinned_memory advertised but creation fails
  bool client_storage_is_host = false;    // GL_CLIENT_STORAGE_BIT moves storage to host memory
  // Loop iterations one shader invocation may run, all of its loops together, before the driver
  // silently breaks out of them (later iterations never run, no error is raised); empty where no
  // cap is known. Kernels with long loops split their work to stay well under it.
  std::optional<std::uint32_t> max_loop_iterations;
};

// Driver-reported memory in bytes, where the driver reports it at all.
struct memory_info {
  std::optional<std::uint64_t> dedicated_bytes;  // NVX: dedicated video memory
  std::optional<std::uint64_t> available_bytes;  // NVX current available / ATI free VBO memory
};

struct capabilities {
  std::string vendor;        // GL_VENDOR
  std::string renderer;      // GL_RENDERER
  std::string version;       // GL_VERSION (carries the driver version on most drivers)
  std::string glsl_version;  // GL_SHADING_LANGUAGE_VERSION
  vendor_class vendor_kind = vendor_class::other;
  bool uma = false;               // CPU and GPU share memory (integrated, mobile, software)
  bool coherent_mapping = false;  // persistent maps may be coherent (buffer storage, not masked)
  limits limit;
  extensions ext;
  quirks quirk;
  memory_info memory;
  std::string masked;  // the mask applied, as given ("" when none)
};

// Switches features off so every fallback runs on every machine.
struct capability_mask {
  bool buffer_storage = false;  // no ARB_buffer_storage: no persistent maps, no ring (pools shadow)
  bool coherent = false;        // persistent maps only with explicit flush
  bool pinned = false;          // no AMD_pinned_memory
  [[nodiscard]] bool any() const noexcept { return buffer_storage || coherent || pinned; }
};

// Parses "buffer_storage,coherent,pinned" (any subset, "" for none). An unknown token is an
// error naming it and the allowed ones; the caller prefixes where the text came from.
[[nodiscard]] result<capability_mask> parse_capability_mask(std::string_view text);
// Reads GPUSOAK_DISABLE; unset means no mask. Errors start with "GPUSOAK_DISABLE: ".
[[nodiscard]] result<capability_mask> capability_mask_from_env();

[[nodiscard]] capabilities apply_mask(capabilities caps, const capability_mask& mask);

// Classifies a driver from its GL_VENDOR / GL_RENDERER strings. Pure; exposed for tests.
[[nodiscard]] vendor_class classify_vendor(std::string_view vendor, std::string_view renderer);
// Fills uma and quirks from vendor, renderer and version strings. Pure; exposed for tests.
void derive_platform_facts(capabilities& caps);

}  // namespace gpusoak::gpu
