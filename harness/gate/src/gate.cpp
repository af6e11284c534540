// The release gate: thresholds evaluated on stored samples (see gate.hpp for every derivation).
#include "gpusoak/harness/gate.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "gpusoak/harness/leak_slope.hpp"
#include "gpusoak/harness/provenance_text.hpp"
#include "gpusoak/harness/xml_text.hpp"
#include "gpusoak/scenarios/metric_catalog.hpp"
#include "gpusoak/scenarios/scenario.hpp"  // latency_histogram
#include "gpusoak/scenarios/units.hpp"

namespace gpusoak::harness {
namespace {

using detail::xml_escape;

using scenarios::aggregation;
using scenarios::metric_operand;

// An observed value, or the reason there is none.
struct observation {
  std::optional<double> value;
  std::string detail;
};

// What a series' derivation may need beyond the samples.
struct evaluation_context {
  double warmup_fraction = 0.1;
  std::span<const phase_record> phases;  // names the phases in leak-slope details
};

observation no_data(std::string detail) {
  return {std::nullopt, std::move(detail)};
}

using group_key = std::pair<std::string, std::string>;  // (scenario, context)

// Samples matching the operand's scenario/context labels, grouped, each group in time order.
struct selection {
  std::vector<const sample*> rows;
  std::map<group_key, std::vector<const sample*>> groups;
};

bool is_column_label(std::string_view name) {
  return name == "scenario" || name == "context";
}

selection select(std::span<const sample> samples, const metric_operand& op, std::string_view default_scenario = {}) {
  selection sel;
  bool scenario_given = false;
  for (const auto& l : op.labels) scenario_given = scenario_given || l.name == "scenario";
  for (const auto& s : samples) {
    bool match = true;
    for (const auto& l : op.labels) {
      if (l.name == "scenario" && s.scenario != l.value) match = false;
      if (l.name == "context" && s.context != l.value) match = false;
    }
    if (!scenario_given && !default_scenario.empty() && s.scenario != default_scenario) match = false;
    if (!match) continue;
    sel.rows.push_back(&s);
    sel.groups[{s.scenario, s.context}].push_back(&s);
  }
  for (auto& [key, rows] : sel.groups) {
    std::ranges::stable_sort(rows, {}, &sample::t_seconds);
  }
  return sel;
}

// The series text without aggregation: the extra_json key.
std::string series_key(const metric_operand& op) {
  metric_operand plain = op;
  plain.agg = aggregation::none;
  return scenarios::to_string(plain);
}

std::optional<double> extra_value(const sample& s, const std::string& key) {
  auto j = nlohmann::json::parse(s.extra_json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  const double v = it->get<double>();
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

double percentile(std::vector<double> values, double q) {
  std::ranges::sort(values);
  const double pos = q * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (pos - static_cast<double>(lo));
}

std::optional<double> quantile_of(aggregation agg) {
  switch (agg) {
    case aggregation::p50: return 0.50;
    case aggregation::p90: return 0.90;
    case aggregation::p95: return 0.95;
    case aggregation::p99: return 0.99;
    case aggregation::p999: return 0.999;
    default: return std::nullopt;
  }
}

// A column of the sample table.
using column_fn = double (*)(const sample&);

// The sample columns the catalog stores series in, by name.
std::optional<column_fn> sample_column(std::string_view key) {
  if (key == "copies_total") return [](const sample& s) { return static_cast<double>(s.copies_total); };
  if (key == "errors_total") return [](const sample& s) { return static_cast<double>(s.errors_total); };
  if (key == "live_buffers") return [](const sample& s) { return static_cast<double>(s.live_buffers); };
  if (key == "live_bytes") return [](const sample& s) { return static_cast<double>(s.live_bytes); };
  if (key == "rss_bytes") return [](const sample& s) { return static_cast<double>(s.rss_bytes); };
  return std::nullopt;
}

std::string where(const metric_operand& op) {
  return op.labels.empty() ? std::string("all samples") : fmt::format("samples of {}", series_key(op));
}

observation counter(const selection& sel, const metric_operand& op, column_fn column) {
  if (sel.rows.empty()) return no_data(fmt::format("no samples match {}", series_key(op)));
  double total = 0;
  switch (op.agg) {
    case aggregation::none:
    case aggregation::max:
      for (const auto& [key, rows] : sel.groups) total += column(*rows.back());
      return {total, fmt::format("last sample of each of {} scenario/context groups, summed", sel.groups.size())};
    case aggregation::rate: {
      bool any = false;
      for (const auto& [key, rows] : sel.groups) {
        const double dt = rows.back()->t_seconds - rows.front()->t_seconds;
        if (rows.size() < 2 || dt <= 0) continue;
        total += (column(*rows.back()) - column(*rows.front())) / dt;
        any = true;
      }
      if (!any) return no_data("rate needs two samples at different times");
      return {total, "(last - first) / elapsed per scenario/context, summed, per second"};
    }
    case aggregation::count: return {static_cast<double>(sel.rows.size()), "number of samples"};
    default:
      return no_data(fmt::format("{}() of a counter is not defined; use the counter itself, rate() or count()",
                                 scenarios::to_string(op.agg)));
  }
}

observation gauge(const selection& sel, const metric_operand& op, column_fn column) {
  if (sel.rows.empty()) return no_data(fmt::format("no samples match {}", series_key(op)));
  std::vector<double> values;
  for (const auto* s : sel.rows) values.push_back(column(*s));
  switch (op.agg) {
    case aggregation::none: {
      double total = 0;
      for (const auto& [key, rows] : sel.groups) total += column(*rows.back());
      return {total, "last sample per scenario/context, summed"};
    }
    case aggregation::max: return {std::ranges::max(values), fmt::format("max over {} samples", values.size())};
    case aggregation::min: return {std::ranges::min(values), fmt::format("min over {} samples", values.size())};
    case aggregation::avg: {
      double sum = 0;
      for (double v : values) sum += v;
      return {sum / static_cast<double>(values.size()), fmt::format("mean over {} samples", values.size())};
    }
    case aggregation::count: return {static_cast<double>(values.size()), "number of samples"};
    case aggregation::rate: return no_data("rate() of a gauge is not defined; use leak_slope_bytes_per_hour");
    default: {
      const double q = *quantile_of(op.agg);
      return {percentile(values, q),
              fmt::format("{} of {} sample values", scenarios::to_string(op.agg), values.size())};
    }
  }
}

// The samples' interval histograms merged, when every sample stored one (samples from before
// histograms were stored have only their own quantiles).
std::optional<scenarios::latency_histogram> merged_histogram(std::span<const sample* const> rows,
                                                             std::string_view key) {
  scenarios::latency_histogram merged;
  for (const auto* s : rows) {
    const auto j = nlohmann::json::parse(s->extra_json, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return std::nullopt;
    const auto buckets = j.find(fmt::format("{}_buckets", key));
    if (buckets == j.end() || !buckets->is_array() || buckets->size() != merged.buckets.size()) return std::nullopt;
    scenarios::latency_histogram h;
    for (std::size_t i = 0; i < h.buckets.size(); ++i) {
      if (!(*buckets)[i].is_number_unsigned()) return std::nullopt;
      h.buckets[i] = (*buckets)[i].get<std::uint64_t>();
      h.count += h.buckets[i];
    }
    h.sum_seconds = j.value(fmt::format("{}_sum_seconds", key), 0.0);
    h.max_seconds = j.value(fmt::format("{}_max_seconds", key), 0.0);
    merged.merge(h);
  }
  return merged;
}

// A histogram series (op latencies, fence waits): the selected samples' interval histograms merged.
// A series one scenario produces (conv2d_latency_seconds) reads that scenario's samples unless
// labelled otherwise.
observation histogram_series(std::span<const sample> samples, const metric_operand& op,
                             const scenarios::metric_info& info) {
  const bool one_producer = info.producers != "*" && info.producers.find(' ') == std::string_view::npos;
  const std::string_view default_scenario = one_producer ? info.producers : std::string_view{};
  auto sel = select(samples, op, default_scenario);
  const bool ops = info.key == "latency";  // op latencies exist only in samples that did work
  if (ops) std::erase_if(sel.rows, [](const sample* s) { return s->iterations == 0; });
  if (sel.rows.empty()) {
    return no_data(fmt::format("no samples{} match {}", ops ? " with iterations" : "", series_key(op)));
  }
  const bool default_scope =
      !default_scenario.empty() && std::ranges::none_of(op.labels, [](const auto& l) { return l.name == "scenario"; });
  const std::string scope = default_scope ? fmt::format("scenario {}", default_scenario) : where(op);
  const auto merged = merged_histogram(sel.rows, info.key);
  if (!ops && merged && merged->count == 0 && op.agg != aggregation::count) {
    // Fence waits are counted only when they block: none did, so every wait took no time.
    return {0.0,
            fmt::format("none of the {} samples' histograms holds an observation ({}); 0", sel.rows.size(), scope)};
  }
  if (!ops && !merged) return no_data(fmt::format("no sample has a '{}_buckets' histogram", info.key));
  if (op.agg != aggregation::count) {
    if (merged && merged->count > 0) {
      if (op.agg == aggregation::max) {
        return {merged->max_seconds, fmt::format("max of {} ops ({})", merged->count, scope)};
      }
      if (op.agg == aggregation::avg) {
        return {merged->sum_seconds / static_cast<double>(merged->count),
                fmt::format("mean of {} ops ({})", merged->count, scope)};
      }
      if (const auto q = quantile_of(op.agg)) {
        return {merged->quantile(*q), fmt::format("{} of {} ops over {} samples ({}; bucket upper bound)",
                                                  scenarios::to_string(op.agg), merged->count, sel.rows.size(), scope)};
      }
    }
  }
  column_fn column = nullptr;
  std::string_view from;
  switch (op.agg) {
    case aggregation::p50:
      column = [](const sample& s) { return s.latency_p50_seconds; };
      from = "p50";
      break;
    case aggregation::p90:
      column = [](const sample& s) { return s.latency_p90_seconds; };
      from = "p90";
      break;
    case aggregation::p95:
    case aggregation::p99:
      column = [](const sample& s) { return s.latency_p99_seconds; };
      from = "p99";
      break;
    case aggregation::count: return {static_cast<double>(sel.rows.size()), "number of samples with iterations"};
    case aggregation::max:
    case aggregation::avg:
    case aggregation::p999:
      return no_data(fmt::format("{} of a latency needs the samples' histograms, and these samples have none",
                                 scenarios::to_string(op.agg)));
    default:
      return no_data(
          fmt::format("{} of a latency cannot be derived from the stored per-sample p50/p90/p99; use "
                      "p50, p90, p95 or p99",
                      op.agg == aggregation::none ? "a bare series" : scenarios::to_string(op.agg)));
  }
  double worst = 0;
  for (const auto* s : sel.rows) worst = std::max(worst, column(*s));
  return {worst,
          fmt::format("max of per-sample {} over {} samples ({}; an upper bound)", from, sel.rows.size(), scope)};
}

// A leak slope, per phase and per context (leak_slope.hpp): the worst fit, named in the detail.
observation leak_slope(std::span<const sample> samples, const metric_operand& op, const scenarios::metric_info& info,
                       const evaluation_context& context) {
  if (op.agg != aggregation::none) {
    return no_data(fmt::format("{}() of {} is not defined", scenarios::to_string(op.agg), op.metric));
  }
  const auto sel = select(samples, op);
  if (sel.rows.empty()) return no_data(fmt::format("no samples match {}", series_key(op)));
  // live_bytes counts one GL context's buffers; RSS is one figure for the whole process and GPU
  // memory one for the device, whichever context's sample carries it.
  const memory_series series{.key = info.key, .per_context = info.key == "live_bytes"};
  const auto fits = fit_leak_slopes(sel.rows, series, context.warmup_fraction);
  if (fits.empty()) {
    if (info.key == "gpu_memory_used_bytes") {
      return no_data(
          "not available: no sample carries gpu_memory_used_bytes; the GL driver reports GPU memory only "
          "through GL_NVX_gpu_memory_info or GL_ATI_meminfo, and this run's offered neither (`gpusoak probe` "
          "lists them)");
    }
    return no_data(fmt::format("no sample carries {}", info.key));
  }
  const leak_fit* worst = worst_leak_fit(fits);
  if (worst == nullptr) {
    std::string detail = fmt::format("no phase has {} samples after its {:.0f}% warm-up:", min_leak_points,
                                     context.warmup_fraction * 100);
    for (const auto& fit : fits) {
      detail += fmt::format(" {}{}{}: {},", fit.phase ? "phase " : "", fit.phase ? std::to_string(*fit.phase) : "run",
                            fit.context.empty() ? "" : fmt::format(" context {}", fit.context), fit.points);
    }
    detail.pop_back();
    return no_data(std::move(detail));
  }
  return {*worst->slope, describe_leak_fits(fits, *worst, context.phases, info.key, context.warmup_fraction)};
}

observation from_extra(std::span<const sample> samples, const metric_operand& op, scenarios::metric_kind kind) {
  const std::string key = series_key(op);
  // Labels other than scenario/context live in the key itself; scenario/context also select rows.
  metric_operand selector = op;
  std::erase_if(selector.labels, [](const auto& l) { return !is_column_label(l.name); });
  const auto sel = select(samples, selector);
  double total = 0;
  std::size_t found = 0;
  std::vector<double> values;
  std::optional<std::pair<double, double>> latest;  // (t, value) of the latest sample with it
  double rate = 0;
  bool rated = false;
  for (const auto& [group, rows] : sel.groups) {
    std::optional<std::pair<double, double>> first, last;  // (t, value) in the group
    for (const auto* s : rows) {
      if (auto v = extra_value(*s, key)) {
        if (!first) first = {s->t_seconds, *v};
        last = {s->t_seconds, *v};
        values.push_back(*v);
        if (!latest || s->t_seconds >= latest->first) latest = {s->t_seconds, *v};
      }
    }
    if (last) {
      total += last->second;
      ++found;
      if (last->first > first->first) {
        rate += (last->second - first->second) / (last->first - first->first);
        rated = true;
      }
    }
  }
  if (found == 0) return no_data(fmt::format("no sample has '{}' in extra_json", key));
  switch (op.agg) {
    case aggregation::none:
      // A gauge in extra_json is one value at a time (run progress, a pool's ratio): the latest.
      if (kind == scenarios::metric_kind::gauge) {
        return {latest->second, fmt::format("extra_json '{}': the latest sample's value", key)};
      }
      return {total, fmt::format("extra_json '{}': last value per scenario/context, summed", key)};
    case aggregation::max: return {std::ranges::max(values), fmt::format("extra_json '{}': max", key)};
    case aggregation::min: return {std::ranges::min(values), fmt::format("extra_json '{}': min", key)};
    case aggregation::count:
      return {static_cast<double>(values.size()), fmt::format("extra_json '{}': samples with it", key)};
    case aggregation::rate:
      if (kind != scenarios::metric_kind::counter) break;
      if (!rated) return no_data("rate needs two samples at different times");
      return {rate,
              fmt::format("extra_json '{}': (last - first) / elapsed per scenario/context, summed, per second", key)};
    default: break;
  }
  return no_data(fmt::format("{}() of extra_json '{}' is not supported", scenarios::to_string(op.agg), key));
}

// Reads the series where metric_catalog says samples store it.
observation observe(std::span<const sample> samples, const metric_operand& op, const evaluation_context& context) {
  const scenarios::metric_info* info = scenarios::find_metric_info(op.metric);
  if (info == nullptr) return no_data(fmt::format("'{}' is not a series of the metric catalog", op.metric));
  const bool column_labels_only = std::ranges::all_of(op.labels, [](const auto& l) { return is_column_label(l.name); });
  switch (info->storage) {
    case scenarios::sample_storage::derived: return leak_slope(samples, op, *info, context);
    case scenarios::sample_storage::buckets: return histogram_series(samples, op, *info);
    case scenarios::sample_storage::column:
      // A copy path lives in extra_json under the series' own text (copies_total{path="hot"}).
      if (!column_labels_only) return from_extra(samples, op, info->kind);
      if (const auto column = sample_column(info->key)) {
        return info->kind == scenarios::metric_kind::counter ? counter(select(samples, op), op, *column)
                                                             : gauge(select(samples, op), op, *column);
      }
      return no_data(fmt::format("no sample column '{}'", info->key));
    case scenarios::sample_storage::extra: return from_extra(samples, op, info->kind);
    case scenarios::sample_storage::none: break;
  }
  return no_data(fmt::format("{} is not stored in samples", op.metric));
}

std::string format_value(double value, const metric_operand& op) {
  const auto unit = scenarios::find_metric(op.metric).value_or(scenarios::metric_unit::count);
  if (op.agg == aggregation::count || op.agg == aggregation::rate) return fmt::format("{:g}", value);
  switch (unit) {
    case scenarios::metric_unit::seconds: {
      const double a = std::fabs(value);
      if (a == 0) return "0s";
      if (a < 1e-3) return fmt::format("{:.3g}us", value * 1e6);
      if (a < 1) return fmt::format("{:.3g}ms", value * 1e3);
      return fmt::format("{:.3g}s", value);
    }
    case scenarios::metric_unit::bytes: {
      const double a = std::fabs(value);
      const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
      int i = 0;
      double v = value;
      for (double scale = a; scale >= 1024 && i < 4; scale /= 1024, v /= 1024) ++i;
      return fmt::format("{:.4g}{}", v, units[i]);
    }
    case scenarios::metric_unit::count: return fmt::format("{:g}", value);
  }
  return fmt::format("{:g}", value);
}

std::string row_values(const gate_row& row) {
  const auto [observed, limit] = format_gate_values(row);
  return fmt::format("observed {}, limit {}", observed, limit);
}

}  // namespace

std::pair<std::string, std::string> format_gate_values(const gate_row& row) {
  std::string observed = "no data", limit = "-";
  // The text is canonical, so it parses back; it gives the operands' units.
  const auto t = scenarios::parse_threshold(row.threshold);
  if (row.observed) observed = t ? format_value(*row.observed, t->lhs) : fmt::format("{:g}", *row.observed);
  if (row.limit) {
    limit = t ? format_value(*row.limit, t->rhs_metric ? *t->rhs_metric : t->lhs) : fmt::format("{:g}", *row.limit);
  }
  return {observed, limit};
}

std::string_view to_string(gate_status status) noexcept {
  switch (status) {
    case gate_status::passed: return "passed";
    case gate_status::failed: return "failed";
    case gate_status::no_data: return "no_data";
  }
  return "unknown";
}

std::size_t gate_report::count(gate_status status) const noexcept {
  return static_cast<std::size_t>(std::ranges::count(rows, status, &gate_row::status));
}

int gate_report::exit_code() const noexcept {
  if (state == run_state::aborted) return exit_aborted;
  if (count(gate_status::failed) > 0) return exit_fail;
  if (rows.empty() || count(gate_status::no_data) > 0) return exit_could_not_run;
  return exit_pass;
}

result<gate_report> evaluate_gate(const run_record& run, std::span<const sample> samples,
                                  std::span<const scenarios::threshold> thresholds, const gate_options& options,
                                  std::span<const phase_record> phases) {
  if (!std::isfinite(options.warmup_fraction) || options.warmup_fraction < 0 || options.warmup_fraction >= 1) {
    return make_error(error_kind::validation, fmt::format("warm-up fraction {} is out of range; use a number in [0, 1)",
                                                          options.warmup_fraction));
  }
  gate_report report{
      .run_id = run.id, .state = run.state, .sample_count = samples.size(), .provenance = run.provenance};
  const evaluation_context context{.warmup_fraction = options.warmup_fraction, .phases = phases};
  for (const auto& t : thresholds) {
    gate_row row{.threshold = scenarios::to_string(t)};
    const auto lhs = observe(samples, t.lhs, context);
    row.observed = lhs.value;
    row.detail = lhs.detail;
    if (t.rhs_metric) {
      const auto rhs = observe(samples, *t.rhs_metric, context);
      row.limit = rhs.value;
      if (!rhs.value)
        row.detail = fmt::format("right side: {}", rhs.detail);
      else
        row.detail += fmt::format("; right side: {}", rhs.detail);
    } else {
      row.limit = t.value;
    }
    if (!row.observed || !row.limit) {
      row.status = gate_status::no_data;
    } else {
      row.status = scenarios::holds(t.op, *row.observed, *row.limit) ? gate_status::passed : gate_status::failed;
    }
    report.rows.push_back(std::move(row));
  }
  return report;
}

result<gate_report> run_gate(run_store& store, std::string_view run_id,
                             std::span<const scenarios::threshold> thresholds, const gate_options& options) {
  GPUSOAK_TRY_ASSIGN(auto run, store.get_run(run_id));
  GPUSOAK_TRY_ASSIGN(auto samples, store.samples(run_id));
  GPUSOAK_TRY_ASSIGN(auto phases, store.phases(run_id));
  return evaluate_gate(run, samples, thresholds, options, phases);
}

result<void> store_run_verdicts(run_store& store, const gate_report& report) {
  std::vector<threshold_result> verdicts;
  for (const auto& row : report.rows) {
    verdicts.push_back({.threshold = row.threshold,
                        .observed = row.observed.value_or(0),
                        .passed = row.status == gate_status::passed});
  }
  return store.record_verdicts(report.run_id, verdicts);
}

stored_evaluation to_stored_evaluation(const gate_report& report, const gate_options& options, timestamp evaluated_at) {
  stored_evaluation e{.evaluated_at = evaluated_at,
                      .basis = report.basis.empty() ? std::string("plan") : report.basis,
                      .warmup_fraction = options.warmup_fraction,
                      .exit_code = report.exit_code()};
  for (const auto& row : report.rows) {
    e.rows.push_back({.threshold = row.threshold,
                      .status = std::string(to_string(row.status)),
                      .observed = row.observed,
                      .limit = row.limit,
                      .detail = row.detail});
  }
  return e;
}

std::string format_gate_table(const gate_report& report) {
  std::size_t width = 9;
  for (const auto& row : report.rows) width = std::max(width, row.threshold.size());
  std::string text =
      fmt::format("gate: run {} ({}), {} samples{}\n", report.run_id, to_string(report.state), report.sample_count,
                  report.basis.empty() ? "" : fmt::format("; thresholds: {}", report.basis));
  // What the run ran, so a pasted table says it (a masked run reads apart from an unmasked one).
  const auto& p = report.provenance;
  text += fmt::format("ran: mask {}, {} on {}, gpusoak {} ({}), plan sha256 {}\n\n", detail::mask_text(p.mask),
                      p.gl_renderer.empty() ? "renderer not recorded" : p.gl_renderer,
                      p.gl_version.empty() ? "driver not recorded" : p.gl_version,
                      p.gpusoak_version.empty() ? "?" : p.gpusoak_version,
                      p.gpusoak_commit.empty() ? "commit not recorded" : p.gpusoak_commit,
                      p.plan_sha256.empty() ? "not recorded" : p.plan_sha256.substr(0, 12));
  text += fmt::format("    {:<{}}  {:>12}  {:>12}  {}\n", "threshold", width, "observed", "limit", "detail");
  for (const auto& row : report.rows) {
    const char* mark = row.status == gate_status::passed ? "✓" : row.status == gate_status::failed ? "✗" : "?";
    const auto [observed, limit] = format_gate_values(row);
    text += fmt::format("  {} {:<{}}  {:>12}  {:>12}  {}\n", mark, row.threshold, width, observed, limit, row.detail);
  }
  const int code = report.exit_code();
  const char* verdict = code == exit_pass      ? "PASS"
                        : code == exit_fail    ? "FAIL"
                        : code == exit_aborted ? "ABORTED (the run was aborted)"
                                               : "COULD NOT EVALUATE";
  text += fmt::format("\n{} passed, {} failed, {} no data -> {} (exit {})\n", report.count(gate_status::passed),
                      report.count(gate_status::failed), report.count(gate_status::no_data), verdict, code);
  return text;
}

std::string gate_junit_xml(const gate_report& report) {
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  const std::size_t aborted = report.state == run_state::aborted ? 1 : 0;
  xml += fmt::format(
      "<testsuites><testsuite name=\"gpusoak gate\" tests=\"{}\" failures=\"{}\" errors=\"{}\" "
      "skipped=\"0\">\n",
      report.rows.size() + aborted, report.count(gate_status::failed), report.count(gate_status::no_data) + aborted);
  xml +=
      fmt::format("  <properties><property name=\"run_id\" value=\"{}\"/><property name=\"run_state\" value=\"{}\"/>",
                  xml_escape(report.run_id), to_string(report.state));
  if (!report.basis.empty())
    xml += fmt::format("<property name=\"thresholds\" value=\"{}\"/>", xml_escape(report.basis));
  for (const auto& [name, value] : detail::provenance_facts(report.provenance)) {
    xml += fmt::format("<property name=\"{}\" value=\"{}\"/>", xml_escape(name), xml_escape(value));
  }
  xml += "</properties>\n";
  for (const auto& row : report.rows) {
    xml += fmt::format("  <testcase classname=\"gpusoak.gate.{}\" name=\"{}\">", xml_escape(report.run_id),
                       xml_escape(row.threshold));
    const std::string body = xml_escape(fmt::format("{}: {}", row_values(row), row.detail));
    if (row.status == gate_status::failed) {
      xml += fmt::format("<failure message=\"{}\" type=\"threshold\">{}</failure>", body, body);
    } else if (row.status == gate_status::no_data) {
      xml += fmt::format("<error message=\"could not evaluate: {}\" type=\"no_data\">{}</error>",
                         xml_escape(row.detail), body);
    } else {
      xml += fmt::format("<system-out>{}</system-out>", body);
    }
    xml += "</testcase>\n";
  }
  if (report.state == run_state::aborted) {
    xml +=
        "  <testcase classname=\"gpusoak.gate\" name=\"run state\"><error message=\"the run was aborted\" "
        "type=\"aborted\"/></testcase>\n";
  }
  xml += "</testsuite></testsuites>\n";
  return xml;
}

std::string gate_json(const gate_report& report) {
  nlohmann::json j;
  j["run_id"] = report.run_id;
  j["state"] = std::string(to_string(report.state));
  j["exit_code"] = report.exit_code();
  j["samples"] = report.sample_count;
  j["passed"] = report.count(gate_status::passed);
  j["failed"] = report.count(gate_status::failed);
  j["no_data"] = report.count(gate_status::no_data);
  j["basis"] = report.basis.empty() ? std::string("plan") : report.basis;
  j["provenance"] = detail::provenance_json(report.provenance);
  j["rows"] = nlohmann::json::array();
  for (const auto& row : report.rows) {
    j["rows"].push_back({{"threshold", row.threshold},
                         {"status", std::string(to_string(row.status))},
                         {"observed", row.observed ? nlohmann::json(*row.observed) : nlohmann::json(nullptr)},
                         {"limit", row.limit ? nlohmann::json(*row.limit) : nlohmann::json(nullptr)},
                         {"detail", row.detail}});
  }
  return j.dump(2) + "\n";
}

}  // namespace gpusoak::harness
