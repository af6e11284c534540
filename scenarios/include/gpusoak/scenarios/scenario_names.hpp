// The scenarios a plan may name (design.md, "Scenarios"). A plan naming anything else is rejected
// with this list.
#pragma once

#include <array>
#include <string_view>

namespace gpusoak::scenarios {

inline constexpr std::array<std::string_view, 6> known_scenarios{
    "memory_pressure",  // hold N% of the budget while conv2d keeps running; latency stays bounded
    "fragmentation",    // random log-uniform alloc/free in the pool; every live block pattern-checked
    "multi_context",    // N contexts on N threads doing conv2d and churn at once; no cross-talk
    "oom",              // allocate until out-of-memory, clean error, release, back to baseline
    "leak_cycle",       // create/destroy buffers and contexts; live counts and RSS return to baseline
    "conv2d_steady",    // zero-copy conv2d across shapes; copies stay 0; latency histograms
};

[[nodiscard]] constexpr bool is_known_scenario(std::string_view name) noexcept {
  for (const auto known : known_scenarios) {
    if (known == name) {
      return true;
    }
  }
  return false;
}

}  // namespace gpusoak::scenarios
