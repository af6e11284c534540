#include "gpusoak/buffers/capabilities.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>

namespace gpusoak::gpu {
namespace {

bool contains(std::string_view haystack, std::string_view needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         }) != haystack.end();
}

bool contains_any(std::string_view haystack, std::initializer_list<std::string_view> needles) {
  return std::ranges::any_of(needles, [&](std::string_view n) { return contains(haystack, n); });
}

}  // namespace

std::string_view to_string(vendor_class vendor) noexcept {
  switch (vendor) {
    case vendor_class::nvidia: return "nvidia";
    case vendor_class::amd: return "amd";
    case vendor_class::intel: return "intel";
    case vendor_class::mesa_software: return "mesa_software";
    case vendor_class::arm: return "arm";
    case vendor_class::qualcomm: return "qualcomm";
    case vendor_class::other: return "other";
  }
  return "?";
}

vendor_class classify_vendor(std::string_view vendor, std::string_view renderer) {
  // Software first: llvmpipe reports vendor "Mesa" (or "Mesa/X.org") like hardware Mesa drivers.
  if (contains_any(renderer, {"llvmpipe", "softpipe", "swrast", "lavapipe"})) {
    return vendor_class::mesa_software;
  }
  if (contains_any(vendor, {"NVIDIA", "nouveau"}) || contains(renderer, "NVIDIA")) {
    return vendor_class::nvidia;
  }
  if (contains_any(vendor, {"AMD", "ATI Technologies"}) || contains_any(renderer, {"AMD", "Radeon"})) {
    return vendor_class::amd;
  }
  if (contains(vendor, "Intel") || contains(renderer, "Intel")) {
    return vendor_class::intel;
  }
  if (contains(vendor, "ARM") || contains(renderer, "Mali")) {
    return vendor_class::arm;
  }
  if (contains(vendor, "Qualcomm") || contains(renderer, "Adreno")) {
    return vendor_class::qualcomm;
  }
  return vendor_class::other;
}

void derive_platform_facts(capabilities& caps) {
  caps.vendor_kind = classify_vendor(caps.vendor, caps.renderer);
  const bool mesa = contains(caps.version, "Mesa");
  switch (caps.vendor_kind) {
    case vendor_class::mesa_software:  // the "GPU" is the CPU
    case vendor_class::arm:
    case vendor_class::qualcomm: caps.uma = true; break;
    case vendor_class::intel: caps.uma = !contains_any(caps.renderer, {"Arc", "DG1", "DG2"}); break;
    case vendor_class::nvidia: caps.uma = contains_any(caps.renderer, {"Tegra", "Orin", "Xavier"}); break;
    case vendor_class::amd:
      // APUs report a family name without a board model ("AMD Radeon Graphics", "Vega 8").
      caps.uma = contains_any(caps.renderer, {"Radeon Graphics", "Vega 3", "Vega 8", "Vega 11", "RENOIR", "CEZANNE",
                                              "REMBRANDT", "PHOENIX", "VANGOGH"});
      break;
    case vendor_class::other: caps.uma = false; break;
  }

  // Symptom: glFlushMappedBufferRange on persistent maps is ignored or costs a full sync, so
  // explicit-flush streaming shows stale data or stalls. Seen on Qualcomm Adreno (Dolphin
  // DriverDetails BUG_BROKEN_EXPLICIT_FLUSH).
  caps.quirk.explicit_flush_broken = caps.vendor_kind == vendor_class::qualcomm;

  // Symptom: GL_AMD_pinned_memory is advertised, but glBufferData on
  // GL_EXTERNAL_VIRTUAL_MEMORY_BUFFER_AMD fails (GL_INVALID_OPERATION) for memory the kernel's
  // userptr path refuses. Seen on Mesa radeonsi + amdgpu (Dolphin and shared/design.md). The
  // strategy stays allowed: creation catches the failure and falls back; the quirk only moves
  // pinned_host behind buffer storage in choose_strategy.
  caps.quirk.pinned_memory_unreliable = caps.vendor_kind == vendor_class::amd && mesa;

  // Fact: Mesa places GL_CLIENT_STORAGE_BIT buffers in GTT (host) and the rest in VRAM, where CPU
  // writes are slow on radeon; NVIDIA was reported faster without the bit. Seen on Mesa radeonsi.
  caps.quirk.client_storage_is_host = mesa;

  // Symptom: a shader loop stops early without an error, so a long reduction sums only its
  // first terms (conv2d with a 1x65536 filter misses its last term). gallivm counts the
  // iterations of every loop of a shader invocation against one limiter, 65,535
  // (LP_MAX_TGSI_LOOP_ITERATIONS in Mesa's lp_bld_limits.h). Seen on Mesa llvmpipe 22.3 (Debian
  // 12); tests/buffers/loop_cap_test.cpp measures it on the driver it runs on.
  if (caps.vendor_kind == vendor_class::mesa_software && contains(caps.renderer, "llvmpipe")) {
    caps.quirk.max_loop_iterations = 65535;
  }
}

result<capability_mask> parse_capability_mask(std::string_view text) {
  capability_mask mask;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    std::string_view token = text.substr(start, end - start);
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front()))) token.remove_prefix(1);
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.remove_suffix(1);
    if (token == "buffer_storage") {
      mask.buffer_storage = true;
    } else if (token == "coherent") {
      mask.coherent = true;
    } else if (token == "pinned") {
      mask.pinned = true;
    } else if (!token.empty()) {
      return make_error(error_kind::validation,
                        fmt::format("unknown capability '{}'; allowed: buffer_storage, coherent, pinned "
                                    "(comma-separated)",
                                    std::string(token)));
    }
    start = end + 1;
  }
  return mask;
}

result<capability_mask> capability_mask_from_env() {
  const char* text = std::getenv("GPUSOAK_DISABLE");
  auto mask = parse_capability_mask(text != nullptr ? text : "");
  if (!mask) mask.error().message = "GPUSOAK_DISABLE: " + mask.error().message;
  return mask;
}

capabilities apply_mask(capabilities caps, const capability_mask& mask) {
  std::string masked;
  const auto note = [&](const char* name) { masked += masked.empty() ? name : fmt::format(",{}", name); };
  if (mask.buffer_storage) {
    caps.ext.ARB_buffer_storage = false;
    caps.coherent_mapping = false;
    note("buffer_storage");
  }
  if (mask.coherent) {
    caps.coherent_mapping = false;
    note("coherent");
  }
  if (mask.pinned) {
    caps.ext.AMD_pinned_memory = false;
    note("pinned");
  }
  caps.masked = masked;
  return caps;
}

}  // namespace gpusoak::gpu
