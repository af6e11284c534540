#include "gpusoak/buffers/strategy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <string>

namespace gpusoak::gpu {
namespace {

using enum strategy;
using enum usage;
using v = vendor_class;

// A row list, best first; always ending in staging_copy, which every context supports.
template <std::size_t N>
constexpr std::span<const strategy> row(const strategy (&list)[N]) {
  return std::span<const strategy>(list, N);
}
constexpr strategy coherent_first[] = {persistent_coherent, persistent_flush, staging_copy};
constexpr strategy flush_first[] = {persistent_flush, persistent_coherent, staging_copy};
constexpr strategy device_local[] = {device_local_staged, staging_copy};
constexpr strategy pinned_first[] = {pinned_host, persistent_flush, persistent_coherent, staging_copy};
constexpr strategy coherent_pinned[] = {persistent_coherent, pinned_host, persistent_flush, staging_copy};
constexpr strategy in_place_many[] = {persistent_coherent, persistent_flush, device_local_staged, staging_copy};
constexpr strategy flush_many[] = {persistent_flush, device_local_staged, staging_copy};
constexpr strategy coherent_only[] = {persistent_coherent, staging_copy};
constexpr strategy coherent_many[] = {persistent_coherent, device_local_staged, staging_copy};

struct cell {
  vendor_class vendor;
  usage use;
  std::span<const strategy> order;
};

// The decision matrix. Evidence per row: docs/mapping_strategies.md, "Decision matrix".
// Quirks (capabilities.cpp) may reorder a row at run time; see candidates().
constexpr std::array<cell, 28> matrix{{
    // NVIDIA discrete: data the GPU reads often belongs in VRAM (device_local_staged). Streaming
    // data read once: a producer writing in place into a coherent map wins end to end (H100,
    // `gpusoak bench upload`, 2026-11-23: 2560 vs 4144 us staging at 16 MiB, tie at 4 KiB).
    {v::nvidia, stream_to_gpu, row(coherent_first)},
    {v::nvidia, gpu_reads_many, row(device_local)},
    {v::nvidia, gpu_to_cpu, row(coherent_first)},  // GPU writes to cached host memory once
    {v::nvidia, bidirectional, row(coherent_first)},
    // AMD discrete: pinned host memory first (Dolphin's order), then explicit flush.
    {v::amd, stream_to_gpu, row(pinned_first)},
    {v::amd, gpu_reads_many, row(device_local)},
    {v::amd, gpu_to_cpu, row(coherent_pinned)},
    {v::amd, bidirectional, row(coherent_first)},
    // Intel and other UMA: one memory; write in place (staging cost 20-30% in a published replay).
    {v::intel, stream_to_gpu, row(coherent_first)},
    {v::intel, gpu_reads_many, row(in_place_many)},
    {v::intel, gpu_to_cpu, row(coherent_first)},
    {v::intel, bidirectional, row(coherent_first)},
    // Mesa software (llvmpipe, CI): the GPU is the CPU; every copy is pure overhead.
    {v::mesa_software, stream_to_gpu, row(coherent_first)},
    {v::mesa_software, gpu_reads_many, row(in_place_many)},
    {v::mesa_software, gpu_to_cpu, row(coherent_first)},
    {v::mesa_software, bidirectional, row(coherent_first)},
    // Arm Mali (UMA): explicit flush keeps CPU-side caching under the app's control.
    {v::arm, stream_to_gpu, row(flush_first)},
    {v::arm, gpu_reads_many, row(flush_many)},
    {v::arm, gpu_to_cpu, row(coherent_first)},
    {v::arm, bidirectional, row(coherent_first)},
    // Qualcomm Adreno: explicit flush broken (quirk), so coherent everywhere.
    {v::qualcomm, stream_to_gpu, row(coherent_only)},
    {v::qualcomm, gpu_reads_many, row(coherent_many)},
    {v::qualcomm, gpu_to_cpu, row(coherent_only)},
    {v::qualcomm, bidirectional, row(coherent_only)},
    // Unknown drivers: the design's general order (explicit flush, coherent only where needed).
    {v::other, stream_to_gpu, row(flush_first)},
    {v::other, gpu_reads_many, row(device_local)},
    {v::other, gpu_to_cpu, row(coherent_first)},
    {v::other, bidirectional, row(coherent_first)},
}};

}  // namespace

std::span<const strategy> preferences(vendor_class vendor, usage u) noexcept {
  for (const cell& c : matrix) {
    if (c.vendor == vendor && c.use == u) {
      return c.order;
    }
  }
  return row(coherent_first);  // unreachable: the table covers every cell (tested)
}

bool is_supported(const capabilities& caps, strategy s) noexcept {
  switch (s) {
    case persistent_coherent: return caps.ext.ARB_buffer_storage && caps.coherent_mapping;
    case persistent_flush: return caps.ext.ARB_buffer_storage && !caps.quirk.explicit_flush_broken;
    case pinned_host: return caps.ext.AMD_pinned_memory;
    case device_local_staged:
    case staging_copy: return true;
  }
  return false;
}

std::vector<strategy> candidates(const capabilities& caps, usage u) {
  std::vector<strategy> order(preferences(caps.vendor_kind, u).begin(), preferences(caps.vendor_kind, u).end());
  // Moves s to index `position`; a negative one counts from the end (-1: last, -2: last but one).
  const auto move = [&](strategy s, std::ptrdiff_t position) {
    if (auto it = std::ranges::find(order, s); it != order.end()) {
      order.erase(it);
      const auto size = static_cast<std::ptrdiff_t>(order.size());
      order.insert(order.begin() + std::clamp(position >= 0 ? position : size + 1 + position, std::ptrdiff_t{0}, size),
                   s);
    }
  };
  if (caps.quirk.pinned_memory_unreliable) {
    move(pinned_host, -2);  // just before the last fallback, staging_copy
  }
  std::erase_if(order, [&](strategy s) { return !is_supported(caps, s); });
  return order;  // never empty: staging_copy is always supported and in every row
}

strategy choose_strategy(const capabilities& caps, usage u) noexcept {
  const auto order = candidates(caps, u);
  return order.empty() ? staging_copy : order.front();
}

std::string_view to_string(strategy s) noexcept {
  switch (s) {
    case persistent_coherent: return "persistent_coherent";
    case persistent_flush: return "persistent_flush";
    case pinned_host: return "pinned_host";
    case device_local_staged: return "device_local_staged";
    case staging_copy: return "staging_copy";
  }
  return "?";
}

std::string_view to_string(usage u) noexcept {
  switch (u) {
    case usage::stream_to_gpu: return "stream_to_gpu";
    case usage::gpu_reads_many: return "gpu_reads_many";
    case usage::gpu_to_cpu: return "gpu_to_cpu";
    case usage::bidirectional: return "bidirectional";
  }
  return "?";
}

result<strategy> parse_strategy(std::string_view text) {
  for (strategy s : all_strategies) {
    if (text == to_string(s)) return s;
  }
  return make_error(error_kind::validation,
                    fmt::format("unknown strategy '{}': use persistent_coherent, persistent_flush, pinned_host, "
                                "device_local_staged or staging_copy",
                                std::string(text)));
}

result<usage> parse_usage(std::string_view text) {
  for (usage u : all_usages) {
    if (text == to_string(u)) return u;
  }
  return make_error(error_kind::validation,
                    fmt::format("unknown usage '{}': use stream_to_gpu, gpu_reads_many, gpu_to_cpu or bidirectional",
                                std::string(text)));
}

}  // namespace gpusoak::gpu
