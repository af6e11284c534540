// The decision matrix: which memory strategy serves a usage best on a platform.
#pragma once

#include <array>
#include <span>
#include <string_view>
#include <vector>

#include "gpusoak/buffers/capabilities.hpp"

namespace gpusoak::gpu {

enum class strategy {
  persistent_coherent,  // ARB_buffer_storage, PERSISTENT|COHERENT map: CPU writes in place
  persistent_flush,     // persistent, non-coherent: glFlushMappedNamedBufferRange + barrier
  pinned_host,          // AMD_pinned_memory: GL buffer over page-aligned host memory
  device_local_staged,  // immutable device storage, uploaded from a host shadow (read many)
  staging_copy,         // classic glNamedBufferSubData / glGetNamedBufferSubData; last fallback
};
inline constexpr std::array all_strategies{strategy::persistent_coherent, strategy::persistent_flush,
                                           strategy::pinned_host, strategy::device_local_staged,
                                           strategy::staging_copy};

enum class usage {
  stream_to_gpu,   // CPU writes, GPU reads once (per-batch inputs)
  gpu_reads_many,  // CPU writes once, GPU reads many times (weights)
  gpu_to_cpu,      // GPU writes, CPU reads (results)
  bidirectional,   // both directions on the same bytes
};
inline constexpr std::array all_usages{usage::stream_to_gpu, usage::gpu_reads_many, usage::gpu_to_cpu,
                                       usage::bidirectional};
inline constexpr std::array all_vendor_classes{vendor_class::nvidia,        vendor_class::amd, vendor_class::intel,
                                               vendor_class::mesa_software, vendor_class::arm, vendor_class::qualcomm,
                                               vendor_class::other};

[[nodiscard]] std::string_view to_string(strategy s) noexcept;
[[nodiscard]] std::string_view to_string(usage u) noexcept;
[[nodiscard]] result<strategy> parse_strategy(std::string_view text);
[[nodiscard]] result<usage> parse_usage(std::string_view text);

// The strategies a usage prefers on a vendor class, best first; always ends in staging_copy.
// This is the table itself (strategy.cpp), one commented row per cell.
[[nodiscard]] std::span<const strategy> preferences(vendor_class vendor, usage u) noexcept;

// Whether a strategy's buffers are GPU-visible memory the CPU writes and reads in place (a
// persistent map or pinned host memory): the zero-copy strategies. The others move bytes by
// explicit, counted copies (copy_path).
[[nodiscard]] constexpr bool is_mapped(strategy s) noexcept {
  return s == strategy::persistent_coherent || s == strategy::persistent_flush || s == strategy::pinned_host;
}

// Whether the capabilities allow a strategy at all (extensions present, not masked, no quirk).
[[nodiscard]] bool is_supported(const capabilities& caps, strategy s) noexcept;

// preferences(caps.vendor_kind, u) reordered by the quirks (pinned_memory_unreliable moves
// pinned_host last but one), unsupported entries removed. Never empty. unified_buffer::create walks it on failure.
[[nodiscard]] std::vector<strategy> candidates(const capabilities& caps, usage u);

// candidates(caps, u).front(). Pure: same capabilities, same answer; no GL calls.
[[nodiscard]] strategy choose_strategy(const capabilities& caps, usage u) noexcept;

}  // namespace gpusoak::gpu
