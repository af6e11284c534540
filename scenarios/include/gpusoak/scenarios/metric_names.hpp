// The metrics a run records, by the name thresholds use (the exporter adds the `gpusoak_` prefix).
// A threshold naming anything else is rejected when the plan is loaded: a typo must not turn a
// gate into one that always passes.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace gpusoak::scenarios {

// What a metric's values are measured in; it decides which units a threshold value may carry.
enum class metric_unit {
  seconds,  // name ends in _seconds: threshold values may be durations (50ms) or plain numbers
  bytes,    // name ends in _bytes (or _bytes_per_hour): byte sizes (1MiB) or plain numbers
  count,    // _total counters, live counts, ratios: plain numbers only
};

struct metric_name {
  std::string_view name;
  metric_unit unit;
};

inline constexpr std::array<metric_name, 21> known_metrics{{
    {"op_latency_seconds", metric_unit::seconds},      // histogram, labels scenario, strategy
    {"conv2d_latency_seconds", metric_unit::seconds},  // histogram, labels scenario, strategy
    {"fence_wait_seconds", metric_unit::seconds},      // histogram, label context
    {"fence_waits_total", metric_unit::count},
    {"copies_total", metric_unit::count},        // label path: "hot" must stay 0 on zero-copy paths
    {"copied_bytes_total", metric_unit::bytes},  // label path
    {"live_buffers", metric_unit::count},
    {"live_bytes", metric_unit::bytes},
    {"allocations_total", metric_unit::count},
    {"frees_total", metric_unit::count},
    {"rss_bytes", metric_unit::bytes},
    {"leak_slope_bytes_per_hour", metric_unit::bytes},  // robust slope of live bytes after warm-up
    {"errors_total", metric_unit::count},
    {"integrity_failures_total", metric_unit::count},  // seeded pattern mismatches, wrong conv2d results
    {"oom_events_total", metric_unit::count},
    {"oom_recoveries_total", metric_unit::count},
    {"fragmentation_ratio", metric_unit::count},  // 0 (one free block) .. 1
    {"scenario_iterations_total", metric_unit::count},
    {"scenario_failures_total", metric_unit::count},
    {"run_progress_ratio", metric_unit::count},
    {"watchdog_timeouts_total", metric_unit::count},
}};

// Label names a threshold may match on; every one has a bounded set of values.
inline constexpr std::array<std::string_view, 5> known_labels{"scenario", "strategy", "path", "context", "gpu"};

[[nodiscard]] constexpr std::optional<metric_unit> find_metric(std::string_view name) noexcept {
  for (const auto& metric : known_metrics) {
    if (metric.name == name) {
      return metric.unit;
    }
  }
  return std::nullopt;
}

}  // namespace gpusoak::scenarios
