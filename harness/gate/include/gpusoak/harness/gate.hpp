// The release gate: a run's thresholds evaluated on its stored samples, with a verdict CI can
// trust (docs/gate.md). Verdicts have more than two values, as in the design guide: 0 pass, 1 fail,
// 2 could not run / could not evaluate, 3 the run was aborted.
//
// How each threshold's observed value is derived from the stored samples (run_store::sample):
//  * Label filters: `scenario` and `context` select samples by their scenario / context columns.
//    Other labels (path, strategy, gpu) are not columns: such a series is read from extra_json
//    only (see below), never silently widened to all samples.
//  * Samples are grouped by (scenario, context): the daemon may sample them apart, and counters
//    are cumulative per group.
//  * Counters (copies_total, errors_total, scenario_iterations_total <- `iterations`): the sum
//    over groups of each group's last value. rate(...) is the sum over groups of
//    (last - first) / (t_last - t_first), per second. count(...) is the number of samples.
//  * Gauges (live_buffers, live_bytes, rss_bytes): no aggregation = the sum over groups of each
//    group's last value; max/min/avg/pNN = over every matching sample row.
//  * Latency (op_latency_seconds: all matching samples; conv2d_latency_seconds: samples of
//    scenario conv2d_steady unless a scenario label says otherwise) and fence_wait_seconds: each
//    sample stores its interval's log histogram (sample_histogram.hpp); the gate adds the matching
//    samples' histograms up (bucket counts add, so this is exact across samples and a resume) and
//    reads pNN as the op of rank floor(q * (ops - 1)), within 1% of its true value (DDSketch's
//    bound; the row's bound says so: "44.6ms ±1%"). max and avg are exact (each sample stores its
//    interval's max and sum). Runs stored before log histograms have 1-2-5 buckets: pNN is then the
//    upper bound of the bucket holding it (at most the max), and the row's bound is that bucket.
//    The oldest runs, with no histogram at all, fall back to the maximum of the per-sample quantile
//    columns (p50 <- p50, p90 <- p90, p95 and p99 <- p99), an upper bound; p999, max and avg then
//    report no data. Samples with iterations == 0 (nothing measured) are skipped for latencies.
//  * Enough data: every statistic has a minimum count, below which the row is not_enough_data
//    (never a pass; exit 2): a latency's pNN counts ops, at least one op beyond the quantile and
//    never fewer than 10 (p50 and p90: 10; p95: 20; p99: 100), ten beyond it for p999 (10,000);
//    a sample value's pNN counts samples by the same table; rate() needs 2 samples in a
//    scenario/context group; every other statistic 1. count() has no minimum. Fence waits are
//    counted only when they block, so their histogram has no minimum of waits.
//  * leak_slope_bytes_per_hour (of live_bytes) and rss_leak_slope_bytes_per_hour (of rss_bytes):
//    Theil-Sen slopes against run-elapsed hours, fitted per phase (the sample's phase), each after
//    its own warm-up (the first warmup_fraction of the phase's sampled span), so one phase's
//    release cannot hide another's leak. live_bytes per context and, with several, in total (their
//    slopes summed); RSS once for the process. The value is the worst (largest) slope of any phase,
//    context or total; the detail names its phase, context and sample count, every other phase's
//    worst, and each phase with fewer than 3 samples after its warm-up (not judged alone). No
//    phase judged: not enough data. Samples without a phase (older stores) are fitted as one span.
//    gpu_memory_leak_slope_bytes_per_hour fits extra_json gpu_memory_used_bytes the same way (one
//    figure per device), which samples carry only where the driver reports GPU memory (NVX / ATI
//    extensions); without it the row is no data "not available", never a pass.
//    (leak_slope.hpp fit_leak_slopes.)
//  * Anything else (integrity_failures_total, oom_events_total, fence_wait_seconds, ...) and any
//    series with labels that are not columns: read from each sample's extra_json, under the key
//    that is the series' canonical text (`oom_events_total`, `copies_total{path="hot"}`), a
//    number. The value is the sum over groups of each group's last sample that has the key.
//  * A threshold whose series has no data in the run is not a pass: it is a no_data row.
//    Neither is one with too little data (not_enough_data, above).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gpusoak/error.hpp"
#include "gpusoak/harness/exit_codes.hpp"
#include "gpusoak/harness/run_store.hpp"
#include "gpusoak/scenarios/threshold.hpp"

namespace gpusoak::harness {

// not_enough_data: the series has data, but fewer ops or samples than the statistic needs
// (gate_row::data); never a pass, and exit 2 like no_data.
enum class gate_status { passed, failed, no_data, not_enough_data };
[[nodiscard]] std::string_view to_string(gate_status status) noexcept;

// Where the true value of a quantile read from histograms lies.
struct value_bound {
  double low = 0, high = 0;  // the true value lies in [low, high]
  // Log histograms: observed is within this share of the true value (0.01). Unset for the 1-2-5
  // buckets of runs stored before log histograms: observed is the bucket's upper bound (high).
  std::optional<double> relative_error;
};

// How many ops or samples a statistic was judged on, and the fewest it needs.
struct data_count {
  std::uint64_t found = 0;
  std::uint64_t needed = 0;
  std::string unit;  // "ops" (a latency's observations), "samples", or "iterations" (the oldest runs)
};

struct gate_row {
  std::string threshold;           // canonical text (scenarios::to_string)
  std::optional<double> observed;  // left-hand side; empty for no_data
  std::optional<double> limit;     // right-hand side (the value, or the other metric's observed)
  gate_status status = gate_status::no_data;
  std::string detail;                // how observed was derived, or why there is no data
  std::optional<value_bound> bound;  // histogram quantiles only
  // Where a minimum applies (every statistic but count() and the leak slope; fence-wait
  // histograms have none). For not_enough_data, the side that fell short.
  std::optional<data_count> data;
};

struct gate_options {
  double warmup_fraction = 0.1;  // [0, 1): share of each phase's sampled span ignored by leak slopes
};

struct gate_report {
  std::string run_id;
  run_state state = run_state::queued;
  std::vector<gate_row> rows;
  std::size_t sample_count = 0;
  run_provenance provenance;  // what the run ran (mask, strategies, driver, build, plan hash)
  // Where the thresholds came from when they are not simply the run's plan ("plan + --threshold",
  // "--only"); "" for the plan's own. Shown in the table, JSON and JUnit properties.
  std::string basis;

  [[nodiscard]] std::size_t count(gate_status status) const noexcept;
  // 3 when the run was aborted; else 1 if any row failed (fail wins over no data), else 2 if any
  // row had no data or not enough data, or there are no rows at all, else 0.
  [[nodiscard]] int exit_code() const noexcept;
};

// Evaluates thresholds on a run's samples (pure; no store access). `phases` (the run's phase
// records) name the phases in leak-slope details; without them a phase is named by its index.
// Fails (validation) only on a bad warmup_fraction.
[[nodiscard]] result<gate_report> evaluate_gate(const run_record& run, std::span<const sample> samples,
                                                std::span<const scenarios::threshold> thresholds,
                                                const gate_options& options = {},
                                                std::span<const phase_record> phases = {});

// Loads the run and its samples from the store and evaluates. Writes nothing: re-evaluating a
// run never changes its verdicts.
[[nodiscard]] result<gate_report> run_gate(run_store& store, std::string_view run_id,
                                           std::span<const scenarios::threshold> thresholds,
                                           const gate_options& options = {});

// Stores `report` as the run's own verdicts (record_verdicts: only before the run is final; a
// no_data row is stored as not passed with observed 0, a not_enough_data row as not passed with
// the value it had). The runner calls it once, at the end.
[[nodiscard]] result<void> store_run_verdicts(run_store& store, const gate_report& report);

// `report` as an ad-hoc evaluation for run_store::save_evaluation (basis and warm-up as given).
[[nodiscard]] stored_evaluation to_stored_evaluation(const gate_report& report, const gate_options& options,
                                                     timestamp evaluated_at = now_timestamp());

// A row's observed value and limit in the metric's units ("2.001MiB", "30ms"); "no data" and "-"
// when absent. A quantile's observed value carries its bound: "44.6ms ±1%", or an old run's 1-2-5
// bucket "50ms (20ms..50ms)". A not_enough_data row without a value reads "57 of 100 ops".
[[nodiscard]] std::pair<std::string, std::string> format_gate_values(const gate_row& row);
// k6-like summary: one line per threshold with ✓ / ✗ / ? (no data or not enough data), observed
// vs limit, then a verdict line.
[[nodiscard]] std::string format_gate_table(const gate_report& report);
// JUnit XML: one <testsuite name="gpusoak gate">, one <testcase> per threshold; failed rows carry
// <failure>, no-data and not-enough-data rows carry <error type="no_data"|"not_enough_data"> (so
// CI never reads them as a pass). The suite's
// <properties> name the run, its state and what it ran (mask, strategies, driver, build, plan hash).
[[nodiscard]] std::string gate_junit_xml(const gate_report& report);
// {"run_id", "state", "exit_code", "passed", "failed", "no_data", "not_enough_data", "basis",
// "provenance", "rows": [{"threshold", "status", "observed", "bound": {"low", "high",
// "relative_error"}, "limit", "data": {"found", "needed", "unit"}, "detail"}]}; observed, bound,
// limit, data (and relative_error) null when absent; provenance as docs/gate.md describes it.
[[nodiscard]] std::string gate_json(const gate_report& report);

}  // namespace gpusoak::harness
