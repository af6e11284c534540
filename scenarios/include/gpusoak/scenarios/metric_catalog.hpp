// The metric catalog: every series gpusoak records in a run's samples or serves on /metrics, in
// one table. The sampler (harness soak_worker) stores each series where its row says, the gate
// reads it from there, threshold parsing accepts exactly the rows with a name, a plan's thresholds
// must name a series one of its scenarios produces, the exporter (harness daemon_metrics)
// registers each row's family, and docs/metrics.md lists them all (metric_catalog_test checks the
// doc and a live daemon's /metrics against this table).
//
// A threshold names a series without the exporter's `gpusoak_` prefix; where the sample name and
// the Prometheus family differ (rss_bytes is gpusoak_resident_memory_bytes), the row says both.
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

enum class metric_kind { counter, gauge, histogram };

// Where a run's sample (harness run_store.hpp `sample`) keeps a series.
enum class sample_storage {
  none,     // exported only (daemon and run state): thresholds cannot name it
  column,   // the sample column `key`
  extra,    // extra_json[key]; a counter's value is its total over the run so far
  buckets,  // a histogram: the interval's log_histogram at extra_json[key + "_hist"], key +
            // "_sum_seconds" and key + "_max_seconds" beside (harness sample_histogram.hpp; runs
            // stored before have key + "_buckets", counts in latency_histogram::bounds)
  derived,  // computed by the gate from other series (the leak slopes from live_bytes, rss_bytes and
            // extra_json gpu_memory_used_bytes, which samples carry where the driver reports it)
};

struct metric_info {
  std::string_view name;  // what thresholds write; "" for a family thresholds cannot use
  metric_kind kind;
  metric_unit unit;
  std::string_view labels;     // the family's labels on /metrics, space-separated
  std::string_view producers;  // scenarios whose samples carry it, space-separated; "*": every one
  sample_storage storage;
  std::string_view key;     // the column or extra_json key (see sample_storage)
  std::string_view family;  // the Prometheus family; "" when only samples have it
};

// Labels in a threshold: `scenario` and `context` select sample rows for every series; `path`
// selects a copy path where the family has one. A run's samples all come from one GPU and do not
// record strategies, so `gpu` and `strategy` cannot be matched.
inline constexpr std::array<std::string_view, 3> threshold_labels{"scenario", "context", "path"};

namespace catalog_table {  // the enumerators by their short names, for the table only
using enum metric_kind;
using enum metric_unit;
using enum sample_storage;

// clang-format off
inline constexpr std::array<metric_info, 36> rows{{
 // name                       kind       unit     labels                                      producers        storage    key                          family
 // Latency, work and checks.
 {"op_latency_seconds",        histogram, seconds, "gpu scenario strategy",                    "*",             buckets,   "latency",                   "gpusoak_op_latency_seconds"},
 {"conv2d_latency_seconds",    histogram, seconds, "",                                         "conv2d_steady", buckets,   "latency",                   ""},
 {"scenario_iterations_total", counter,   count,   "gpu scenario",                             "*",             extra,     "scenario_iterations_total", "gpusoak_scenario_iterations_total"},
 {"scenario_failures_total",   counter,   count,   "gpu scenario",                             "*",             extra,     "scenario_failures_total",   "gpusoak_scenario_failures_total"},
 {"errors_total",              counter,   count,   "",                                         "*",             column,    "errors_total",              ""},
 {"integrity_failures_total",  counter,   count,   "gpu scenario",                             "*",             extra,     "integrity_failures_total",  "gpusoak_integrity_failures_total"},
 {"fence_waits_total",         counter,   count,   "gpu",                                      "*",             extra,     "fence_waits_total",         "gpusoak_fence_waits_total"},
 {"fence_wait_seconds_total",  counter,   seconds, "gpu",                                      "*",             extra,     "fence_wait_seconds_total",  "gpusoak_fence_wait_seconds_total"},
 {"fence_wait_seconds",        histogram, seconds, "",                                         "*",             buckets,   "fence_wait",                ""},
 // Run and daemon state.
 {"",                          gauge,     count,   "version",                                  "",              none,      "",                          "gpusoak_build_info"},
 {"",                          gauge,     count,   "gpu run plan plan_sha256 mask renderer driver vendor version commit", "",           none,      "",                          "gpusoak_run_info"},
 {"",                          gauge,     count,   "gpu state",                                "",              none,      "",                          "gpusoak_run_state"},
 {"run_progress_ratio",        gauge,     count,   "gpu",                                      "*",             extra,     "run_progress_ratio",        "gpusoak_run_progress_ratio"},
 {"",                          gauge,     seconds, "gpu",                                      "",              none,      "",                          "gpusoak_run_elapsed_seconds"},
 {"",                          gauge,     count,   "gpu",                                      "",              none,      "",                          "gpusoak_run_phase_index"},
 {"",                          gauge,     seconds, "gpu",                                      "",              none,      "",                          "gpusoak_last_sample_timestamp_seconds"},
 {"",                          counter,   count,   "gpu state",                                "",              none,      "",                          "gpusoak_runs_finished_total"},
 {"watchdog_timeouts_total",   counter,   count,   "gpu",                                      "*",             extra,     "watchdog_timeouts_total",   "gpusoak_watchdog_resets_total"},
 {"leak_slope_bytes_per_hour", gauge,     bytes,   "gpu",                                      "*",             derived,   "live_bytes",                "gpusoak_leak_slope_bytes_per_hour"},
 {"rss_leak_slope_bytes_per_hour", gauge, bytes,   "",                                         "*",             derived,   "rss_bytes",                 ""},
 {"gpu_memory_leak_slope_bytes_per_hour", gauge, bytes, "",                                    "*",             derived,   "gpu_memory_used_bytes",     ""},
 {"",                          counter,   count,   "code",                                     "",              none,      "",                          "gpusoak_http_requests_total"},
 {"",                          gauge,     count,   "",                                         "",              none,      "",                          "gpusoak_store_out_of_space"},
 // Buffers and memory (the worker context's counters; a scenario's counters are what moved while it ran).
 {"live_buffers",              gauge,     count,   "gpu",                                      "*",             column,    "live_buffers",              "gpusoak_live_buffers"},
 {"live_bytes",                gauge,     bytes,   "gpu",                                      "*",             column,    "live_bytes",                "gpusoak_live_bytes"},
 {"allocations_total",         counter,   count,   "gpu",                                      "*",             extra,     "allocations_total",         "gpusoak_allocations_total"},
 {"frees_total",               counter,   count,   "gpu",                                      "*",             extra,     "frees_total",               "gpusoak_frees_total"},
 {"rss_bytes",                 gauge,     bytes,   "",                                         "*",             column,    "rss_bytes",                 "gpusoak_resident_memory_bytes"},
 {"fragmentation_ratio",       gauge,     count,   "gpu scenario",                             "fragmentation", extra,     "fragmentation_ratio",       "gpusoak_pool_fragmentation_ratio"},
 {"fragmentation_refusals_total", counter, count,  "gpu scenario",                             "fragmentation", extra,     "fragmentation_refusals_total", "gpusoak_pool_fragmentation_refusals_total"},
 {"oom_events_total",          counter,   count,   "gpu scenario",                             "*",             extra,     "oom_events_total",          "gpusoak_oom_events_total"},
 {"oom_recoveries_total",      counter,   count,   "gpu scenario",                             "*",             extra,     "oom_recoveries_total",      "gpusoak_oom_recoveries_total"},
 {"leaks_total",               counter,   count,   "",                                         "*",             extra,     "leaks_total",               ""},
 // Copies: copies_total{path="hot"} are copies on a zero-copy hot path (gpusoak_hot_path_copies_total).
 {"copies_total",              counter,   count,   "gpu path",                                 "*",             column,    "copies_total",              "gpusoak_copies_total"},
 {"copied_bytes_total",        counter,   bytes,   "gpu path",                                 "*",             extra,     "copied_bytes_total",        "gpusoak_copied_bytes_total"},
 {"",                          counter,   count,   "gpu scenario",                             "",              none,      "",                          "gpusoak_hot_path_copies_total"},
}};
// clang-format on

}  // namespace catalog_table

inline constexpr const auto& metric_catalog = catalog_table::rows;

[[nodiscard]] constexpr const metric_info* find_metric_info(std::string_view name) noexcept {
  if (name.empty()) return nullptr;
  for (const auto& metric : metric_catalog) {
    if (metric.name == name) return &metric;
  }
  return nullptr;
}

// The unit of a series thresholds may name; nullopt for anything else.
[[nodiscard]] constexpr std::optional<metric_unit> find_metric(std::string_view name) noexcept {
  const metric_info* info = find_metric_info(name);
  if (info == nullptr || info->storage == sample_storage::none) return std::nullopt;
  return info->unit;
}

// Whether `word` is one of the space-separated words of `list`.
[[nodiscard]] constexpr bool list_has(std::string_view list, std::string_view word) noexcept {
  while (!list.empty()) {
    const auto space = list.find(' ');
    if (list.substr(0, space) == word) return true;
    if (space == std::string_view::npos) break;
    list.remove_prefix(space + 1);
  }
  return false;
}

// Whether samples of `scenario` carry the series.
[[nodiscard]] constexpr bool produced_by(const metric_info& metric, std::string_view scenario) noexcept {
  return metric.producers == "*" || list_has(metric.producers, scenario);
}

}  // namespace gpusoak::scenarios
