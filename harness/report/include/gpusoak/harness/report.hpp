// A stored run's report (`gpusoak report`): a summary as text or JSON, and one self-contained HTML
// page with charts over run time, for people without Grafana at hand. Everything is read from the
// run store; nothing is written to it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gpusoak/error.hpp"
#include "gpusoak/harness/gate.hpp"
#include "gpusoak/harness/run_store.hpp"
#include "gpusoak/harness/sample_histogram.hpp"

namespace gpusoak::harness {

enum class chart_unit { bytes, seconds, count };

// One line of a chart; y[i] belongs to chart::x[i], empty where the line has no sample.
struct chart_series {
  std::string label;
  std::vector<std::optional<double>> y;
  bool dashed = false;
};

// x is run time (t_seconds), ascending and distinct, the union of every series' sample times.
// Long runs are bucketed to at most report_max_points times: a bucket's x is its last time and
// each y the largest value in it (peaks and counters' latest values survive).
struct chart {
  std::string id;  // stable, for tests and anchors: "live_bytes", "latency.conv2d_steady", ...
  std::string title;
  chart_unit unit = chart_unit::count;
  std::vector<double> x;
  std::vector<chart_series> series;
  // Values present over all series; 0 means the chart has no data (the page says so).
  [[nodiscard]] std::size_t points() const noexcept;
};

inline constexpr std::size_t report_max_points = 2000;

struct run_report {
  run_record run;
  std::vector<phase_record> phases;
  // The latest sample of each (scenario, context), ordered by scenario then context, with how many
  // samples that group has.
  struct group_figures {
    sample last;
    std::size_t samples = 0;
    // The group's interval latency histograms added up (its samples that measured ops), for
    // run-wide quantiles with their bound; unset when a sample has none (the oldest runs).
    std::optional<merged_histogram> latency;
  };
  std::vector<group_figures> last_figures;
  std::size_t info_events = 0, warn_events = 0, error_events = 0;
  std::vector<event> errors;  // events of level error, in time order
  // The gate: the thresholds of the run's stored plan re-evaluated on its samples (gate_source
  // "plan"); when the plan has none or does not parse, the run's own stored verdicts ("stored":
  // observed as stored, no-data rows read as failed); else no rows ("none").
  gate_report gate;
  std::string gate_source;
  std::vector<stored_evaluation> evaluations;  // ad-hoc ones `gpusoak gate --save` kept, oldest first
  std::vector<chart> charts;  // always the same charts in the same order, one latency chart per scenario
};

// Reads the run and builds the report. Errors: an unknown run id (validation, naming it) or a
// store failure, as run_store reports them. Does not write to the store (unlike run_gate).
[[nodiscard]] result<run_report> load_report(run_store& store, std::string_view run_id);

// The summary for a terminal: run, what it ran (mask, strategies, driver, build, plan hash), times,
// phases, counts, last figures per scenario, error events, the gate table (format_gate_table) and
// the saved ad-hoc evaluations.
[[nodiscard]] std::string format_report_text(const run_report& report);
// The same as JSON: {"run" (with "provenance"), "phases", "counts", "last_figures", "errors",
// "gate_source", "gate" (gate_json's object), "evaluations"}; docs/report.md lists the fields.
[[nodiscard]] std::string report_json(const run_report& report);
// One HTML page with everything inlined (uPlot, styles, data, script): opens with no network.
// Each chart's element carries data-status (pending, drawn, no-data, failed) and, once drawn,
// data-points (values drawn) and data-ink (pixels in series colours), so a headless browser can
// prove that it rendered.
[[nodiscard]] std::string report_html(const run_report& report);

}  // namespace gpusoak::harness
