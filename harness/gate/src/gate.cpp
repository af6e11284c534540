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
#include "gpusoak/harness/sample_histogram.hpp"
#include "gpusoak/harness/xml_text.hpp"
#include "gpusoak/scenarios/metric_catalog.hpp"
#include "gpusoak/scenarios/units.hpp"

namespace gpusoak::harness {
namespace {

using detail::xml_escape;

using scenarios::aggregation;
using scenarios::metric_operand;

// An observed value, or the reason there is none; with where a histogram quantile's true value
// lies, and how many ops or samples it was judged on against the fewest its statistic needs.
struct observation {
  std::optional<double> value;
  std::string detail;
  std::optional<value_bound> bound;
  std::optional<data_count> data;
};

// What a series' derivation may need beyond the samples.
struct evaluation_context {
  double warmup_fraction = 0.1;
  std::span<const phase_record> phases;  // names the phases in leak-slope details
};

observation no_data(std::string detail) {
  return {std::nullopt, std::move(detail)};
}

// No value because there are fewer ops or samples than the statistic needs.
observation too_few(data_count data, std::string detail) {
  return {.value = std::nullopt, .detail = std::move(detail), .data = std::move(data)};
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

// The fewest ops (a latency's) or samples (a sample value's) a statistic is judged on: at least
// one op beyond a quantile and never fewer than 10 (p50, p90: 10; p95: 20; p99: 100), ten beyond
// for p999 (10,000), two samples for a rate, one for anything else.
std::uint64_t minimum_count(aggregation agg) {
  switch (agg) {
    case aggregation::p50:
    case aggregation::p90: return 10;
    case aggregation::p95: return 20;
    case aggregation::p99: return 100;
    case aggregation::p999: return 10'000;
    case aggregation::rate: return 2;
    default: return 1;
  }
}

data_count counted(std::uint64_t found, aggregation agg, std::string_view unit) {
  return {.found = found, .needed = minimum_count(agg), .unit = std::string(unit)};
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
      std::size_t most = 0;  // samples in the largest group
      for (const auto& [key, rows] : sel.groups) {
        most = std::max(most, rows.size());
        const double dt = rows.back()->t_seconds - rows.front()->t_seconds;
        if (rows.size() < 2 || dt <= 0) continue;
        total += (column(*rows.back()) - column(*rows.front())) / dt;
        any = true;
      }
      const auto data = counted(most, op.agg, "samples");
      if (most < data.needed) return too_few(data, "rate needs two samples at different times");
      if (!any) return no_data("rate needs two samples at different times");
      return {total, "(last - first) / elapsed per scenario/context, summed, per second", std::nullopt, data};
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
  if (quantile_of(op.agg)) {
    const auto data = counted(values.size(), op.agg, "samples");
    if (values.size() < data.needed) {
      return too_few(data, fmt::format("{} of {} sample values", scenarios::to_string(op.agg), values.size()));
    }
  }
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
      return {percentile(values, q), fmt::format("{} of {} sample values", scenarios::to_string(op.agg), values.size()),
              std::nullopt, counted(values.size(), op.agg, "samples")};
    }
  }
}

// "20.1ms" for the table's bound text and details.
std::string seconds_text(double value);

// A quantile from merged histograms, or too few ops for it.
observation histogram_quantile(const merged_histogram& merged, const metric_operand& op, double q, std::size_t samples,
                               const std::string& scope, bool minimum) {
  const auto data = counted(merged.h.count, op.agg, "ops");
  const auto agg = scenarios::to_string(op.agg);
  if (minimum && merged.h.count < data.needed) {
    return too_few(data, fmt::format("{} of {} ops over {} samples ({})", agg, merged.h.count, samples, scope));
  }
  const auto reading = merged.quantile(q);
  if (!reading) return no_data(fmt::format("no ops in {} samples ({})", samples, scope));
  const value_bound bound{.low = reading->low, .high = reading->high, .relative_error = reading->relative_error};
  if (merged.kind == merged_histogram::form::log) {
    return {reading->value,
            fmt::format("{} of {} ops over {} samples ({}; log buckets, within {:g}%)", agg, merged.h.count, samples,
                        scope, *reading->relative_error * 100),
            bound, data};
  }
  return {reading->value,
          fmt::format("{} of {} ops over {} samples ({}; 1-2-5 buckets of a run stored before log histograms: "
                      "the bucket's upper bound, the true value in {}..{})",
                      agg, merged.h.count, samples, scope, seconds_text(reading->low), seconds_text(reading->high)),
          bound, data};
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
  const auto merged = merge_sample_histograms(sel.rows, info.key);
  if (!ops && merged && merged->h.count == 0 && op.agg != aggregation::count) {
    // Fence waits are counted only when they block: none did, so every wait took no time.
    return {0.0,
            fmt::format("none of the {} samples' histograms holds an observation ({}); 0", sel.rows.size(), scope)};
  }
  if (!ops && !merged) return no_data(fmt::format("no sample has a '{}_hist' histogram", info.key));
  if (merged && op.agg != aggregation::count) {
    // Waits that did not block are not counted, so no minimum of fence waits applies: their
    // quantiles are over the blocking ones, never below the true ones.
    const auto at_least = [&](observation o) {
      if (!ops) o.data.reset();
      return o;
    };
    if (op.agg == aggregation::max) {
      return at_least({merged->h.max_seconds, fmt::format("max of {} ops ({})", merged->h.count, scope), std::nullopt,
                       counted(merged->h.count, op.agg, "ops")});
    }
    if (op.agg == aggregation::avg) {
      if (merged->h.count == 0) return at_least(too_few(counted(0, op.agg, "ops"), fmt::format("no ops ({})", scope)));
      return at_least({merged->h.sum_seconds / static_cast<double>(merged->h.count),
                       fmt::format("mean of {} ops ({})", merged->h.count, scope), std::nullopt,
                       counted(merged->h.count, op.agg, "ops")});
    }
    if (const auto q = quantile_of(op.agg)) {
      return at_least(histogram_quantile(*merged, op, *q, sel.rows.size(), scope, ops));
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
  // Samples without histograms (the oldest runs) count iterations, not ops: the units of work.
  std::uint64_t iterations = 0;
  for (const auto* s : sel.rows) iterations += static_cast<std::uint64_t>(std::max<std::int64_t>(0, s->iterations));
  const auto data = counted(iterations, op.agg, "iterations");
  if (iterations < data.needed) {
    return too_few(data, fmt::format("max of per-sample {} over {} samples ({})", from, sel.rows.size(), scope));
  }
  double worst = 0;
  for (const auto* s : sel.rows) worst = std::max(worst, column(*s));
  return {worst, fmt::format("max of per-sample {} over {} samples ({}; an upper bound)", from, sel.rows.size(), scope),
          std::nullopt, data};
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
    // Samples exist but no phase has enough after its warm-up: too little data, not none.
    std::uint64_t most = 0;
    for (const auto& fit : fits) most = std::max<std::uint64_t>(most, fit.points);
    return too_few({.found = most, .needed = min_leak_points, .unit = "samples in a phase"}, std::move(detail));
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
  std::size_t most = 0;  // samples with the key in the largest group
  for (const auto& [group, rows] : sel.groups) {
    std::optional<std::pair<double, double>> first, last;  // (t, value) in the group
    std::size_t with_key = 0;
    for (const auto* s : rows) {
      if (auto v = extra_value(*s, key)) {
        if (!first) first = {s->t_seconds, *v};
        last = {s->t_seconds, *v};
        values.push_back(*v);
        ++with_key;
        if (!latest || s->t_seconds >= latest->first) latest = {s->t_seconds, *v};
      }
    }
    most = std::max(most, with_key);
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
    case aggregation::rate: {
      if (kind != scenarios::metric_kind::counter) break;
      const auto data = counted(most, op.agg, "samples");
      if (most < data.needed) return too_few(data, "rate needs two samples at different times");
      if (!rated) return no_data("rate needs two samples at different times");
      return {rate,
              fmt::format("extra_json '{}': (last - first) / elapsed per scenario/context, summed, per second", key),
              std::nullopt, data};
    }
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

std::string seconds_text(double value) {
  const double a = std::fabs(value);
  if (a == 0) return "0s";
  if (a < 1e-3) return fmt::format("{:.3g}us", value * 1e6);
  if (a < 1) return fmt::format("{:.3g}ms", value * 1e3);
  return fmt::format("{:.3g}s", value);
}

std::string format_value(double value, const metric_operand& op) {
  const auto unit = scenarios::find_metric(op.metric).value_or(scenarios::metric_unit::count);
  if (op.agg == aggregation::count || op.agg == aggregation::rate) return fmt::format("{:g}", value);
  switch (unit) {
    case scenarios::metric_unit::seconds: return seconds_text(value);
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
  if (row.status == gate_status::not_enough_data && row.data) {
    observed = fmt::format("{} of {} {}", row.data->found, row.data->needed, row.data->unit);  // "57 of 100 ops"
  }
  if (row.observed) observed = t ? format_value(*row.observed, t->lhs) : fmt::format("{:g}", *row.observed);
  if (row.observed && row.bound) {
    // "12.3ms ±1%"; an old run's 1-2-5 bucket: "50ms (20ms..50ms)".
    observed += row.bound->relative_error
                    ? fmt::format(" ±{:g}%", *row.bound->relative_error * 100)
                    : fmt::format(" ({}..{})", seconds_text(row.bound->low), seconds_text(row.bound->high));
  }
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
    case gate_status::not_enough_data: return "not_enough_data";
  }
  return "unknown";
}

std::size_t gate_report::count(gate_status status) const noexcept {
  return static_cast<std::size_t>(std::ranges::count(rows, status, &gate_row::status));
}

int gate_report::exit_code() const noexcept {
  if (state == run_state::aborted) return exit_aborted;
  if (count(gate_status::failed) > 0) return exit_fail;
  if (rows.empty() || count(gate_status::no_data) > 0 || count(gate_status::not_enough_data) > 0) {
    return exit_could_not_run;
  }
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
    row.bound = lhs.bound;
    row.data = lhs.data;
    // The side with fewer ops or samples than its statistic needs, and that statistic.
    std::optional<data_count> short_side;
    aggregation short_agg = t.lhs.agg;
    if (lhs.data && lhs.data->found < lhs.data->needed) short_side = lhs.data;
    if (t.rhs_metric) {
      const auto rhs = observe(samples, *t.rhs_metric, context);
      row.limit = rhs.value;
      if (!short_side && rhs.data && rhs.data->found < rhs.data->needed) {
        short_side = rhs.data;
        short_agg = t.rhs_metric->agg;
      }
      if (!rhs.value)
        row.detail = fmt::format("right side: {}", rhs.detail);
      else
        row.detail += fmt::format("; right side: {}", rhs.detail);
    } else {
      row.limit = t.value;
    }
    if (short_side) {
      // Too little data is never judged: a p99 of 50 ops is one op, not a distribution's tail.
      row.status = gate_status::not_enough_data;
      row.data = short_side;
      row.detail = fmt::format("not enough data: {} {}, {} needs at least {}; {}", short_side->found, short_side->unit,
                               short_agg == aggregation::none ? "a value" : scenarios::to_string(short_agg),
                               short_side->needed, row.detail);
    } else if (!row.observed || !row.limit) {
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
  text += fmt::format("    {:<{}}  {:>16}  {:>12}  {}\n", "threshold", width, "observed", "limit", "detail");
  for (const auto& row : report.rows) {
    const char* mark = row.status == gate_status::passed ? "✓" : row.status == gate_status::failed ? "✗" : "?";
    const auto [observed, limit] = format_gate_values(row);
    text += fmt::format("  {} {:<{}}  {:>16}  {:>12}  {}\n", mark, row.threshold, width, observed, limit, row.detail);
  }
  const int code = report.exit_code();
  const char* verdict = code == exit_pass      ? "PASS"
                        : code == exit_fail    ? "FAIL"
                        : code == exit_aborted ? "ABORTED (the run was aborted)"
                                               : "COULD NOT EVALUATE";
  text += fmt::format("\n{} passed, {} failed, {} no data, {} not enough data -> {} (exit {})\n",
                      report.count(gate_status::passed), report.count(gate_status::failed),
                      report.count(gate_status::no_data), report.count(gate_status::not_enough_data), verdict, code);
  return text;
}

std::string gate_junit_xml(const gate_report& report) {
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  const std::size_t aborted = report.state == run_state::aborted ? 1 : 0;
  xml += fmt::format(
      "<testsuites><testsuite name=\"gpusoak gate\" tests=\"{}\" failures=\"{}\" errors=\"{}\" "
      "skipped=\"0\">\n",
      report.rows.size() + aborted, report.count(gate_status::failed),
      report.count(gate_status::no_data) + report.count(gate_status::not_enough_data) + aborted);
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
    } else if (row.status == gate_status::not_enough_data) {
      // An error like no_data, so CI never reads a verdict on too little data as a pass.
      xml += fmt::format("<error message=\"not judged: {}\" type=\"not_enough_data\">{}</error>",
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
  j["not_enough_data"] = report.count(gate_status::not_enough_data);
  j["basis"] = report.basis.empty() ? std::string("plan") : report.basis;
  j["provenance"] = detail::provenance_json(report.provenance);
  j["rows"] = nlohmann::json::array();
  for (const auto& row : report.rows) {
    nlohmann::json bound = nullptr;
    if (row.bound) {
      bound = {{"low", row.bound->low},
               {"high", row.bound->high},
               {"relative_error",
                row.bound->relative_error ? nlohmann::json(*row.bound->relative_error) : nlohmann::json(nullptr)}};
    }
    nlohmann::json data = nullptr;
    if (row.data) data = {{"found", row.data->found}, {"needed", row.data->needed}, {"unit", row.data->unit}};
    j["rows"].push_back({{"threshold", row.threshold},
                         {"status", std::string(to_string(row.status))},
                         {"observed", row.observed ? nlohmann::json(*row.observed) : nlohmann::json(nullptr)},
                         {"bound", bound},
                         {"limit", row.limit ? nlohmann::json(*row.limit) : nlohmann::json(nullptr)},
                         {"data", data},
                         {"detail", row.detail}});
  }
  return j.dump(2) + "\n";
}

}  // namespace gpusoak::harness
