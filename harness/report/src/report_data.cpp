// A run's report gathered from the store: summary figures, the gate, and the chart series.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <utility>

#include "gpusoak/harness/report.hpp"
#include "gpusoak/scenarios/plan.hpp"

namespace gpusoak::harness {
namespace {

using group_key = std::pair<std::string, std::string>;  // (scenario, context), as the gate groups

constexpr const char* hot_copies_key = "copies_total{path=\"hot\"}";

std::optional<double> finite(double v) {
  return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
}

// The extra_json numbers the charts need, parsed once per sample; only those are kept (a day's
// samples as parsed JSON objects would take hundreds of MB).
class extras {
 public:
  extras(std::span<const sample> samples, std::vector<std::string> keys) : keys_(std::move(keys)) {
    values_.reserve(samples.size() * keys_.size());
    for (const auto& s : samples) {
      const auto j = nlohmann::json::parse(s.extra_json, nullptr, /*allow_exceptions=*/false);
      for (const auto& key : keys_) {
        std::optional<double> v;
        if (j.is_object()) {
          if (const auto it = j.find(key); it != j.end() && it->is_number()) v = finite(it->get<double>());
        }
        values_.push_back(v);
      }
    }
  }
  std::optional<double> get(std::size_t row, const std::string& key) const {
    const auto k = static_cast<std::size_t>(std::ranges::find(keys_, key) - keys_.begin());
    return k < keys_.size() ? values_[row * keys_.size() + k] : std::nullopt;
  }

 private:
  std::vector<std::string> keys_;
  std::vector<std::optional<double>> values_;
};

// Builds charts over one shared x: the distinct sample times of the run.
class chart_builder {
 public:
  explicit chart_builder(std::span<const sample> samples) : samples_(samples) {
    std::set<double> times;
    for (const auto& s : samples) times.insert(s.t_seconds);
    x_.assign(times.begin(), times.end());
    std::set<std::string> contexts;
    for (const auto& s : samples) contexts.insert(s.context);
    multi_context_ = contexts.size() > 1;
  }

  std::size_t index(double t) const { return static_cast<std::size_t>(std::ranges::lower_bound(x_, t) - x_.begin()); }

  // A line per group; `key` names a sample's group ("" = skip the sample). Where a group has
  // several samples at one time the largest value is drawn.
  std::vector<chart_series> by_group(const std::function<std::string(const sample&)>& key,
                                     const std::function<std::optional<double>(std::size_t)>& value) const {
    std::map<std::string, chart_series> lines;
    for (std::size_t row = 0; row < samples_.size(); ++row) {
      const auto& s = samples_[row];
      const std::string name = key(s);
      if (name.empty()) continue;
      auto& line = lines[name];
      if (line.y.empty()) {
        line.label = name;
        line.y.resize(x_.size());
      }
      const auto v = value(row);
      if (!v) continue;
      auto& slot = line.y[index(s.t_seconds)];
      slot = slot ? std::max(*slot, *v) : *v;
    }
    std::vector<chart_series> out;
    for (auto& [name, line] : lines) out.push_back(std::move(line));
    return out;
  }

  // One line: at each time, the sum over (scenario, context) groups of each group's latest value
  // so far (a cumulative counter's run total); empty until some group has a value.
  chart_series run_total(std::string label, const std::function<std::optional<double>(std::size_t)>& value,
                         bool dashed = false) const {
    chart_series line{.label = std::move(label), .y = std::vector<std::optional<double>>(x_.size()), .dashed = dashed};
    std::vector<std::size_t> order(samples_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::ranges::stable_sort(order, {}, [&](std::size_t i) { return samples_[i].t_seconds; });
    std::map<group_key, double> latest;
    for (std::size_t k = 0; k < order.size(); ++k) {
      const auto& s = samples_[order[k]];
      if (const auto v = value(order[k])) latest[{s.scenario, s.context}] = *v;
      const bool last_at_t = k + 1 == order.size() || samples_[order[k + 1]].t_seconds != s.t_seconds;
      if (last_at_t && !latest.empty()) {
        double total = 0;
        for (const auto& [group, v] : latest) total += v;
        line.y[index(s.t_seconds)] = total;
      }
    }
    return line;
  }

  std::string group_label(const sample& s) const {
    return multi_context_ ? fmt::format("{} @ {}", s.scenario, s.context) : s.scenario;
  }

  chart make(std::string id, std::string title, chart_unit unit, std::vector<chart_series> series) const {
    return {.id = std::move(id), .title = std::move(title), .unit = unit, .x = x_, .series = std::move(series)};
  }

 private:
  std::span<const sample> samples_;
  std::vector<double> x_;
  bool multi_context_ = false;
};

// At most `limit` x values: consecutive times share a bucket; each bucket keeps its last time and
// every line's largest value.
void bucket(chart& c, std::size_t limit) {
  if (c.x.size() <= limit) return;
  const std::size_t n = c.x.size();
  std::vector<double> x;
  std::vector<std::vector<std::optional<double>>> ys(c.series.size());
  for (std::size_t b = 0; b < limit; ++b) {
    const std::size_t first = b * n / limit, end = (b + 1) * n / limit;
    x.push_back(c.x[end - 1]);
    for (std::size_t i = 0; i < c.series.size(); ++i) {
      std::optional<double> top;
      for (std::size_t k = first; k < end; ++k) {
        if (const auto& v = c.series[i].y[k]) top = top ? std::max(*top, *v) : *v;
      }
      ys[i].push_back(top);
    }
  }
  c.x = std::move(x);
  for (std::size_t i = 0; i < c.series.size(); ++i) c.series[i].y = std::move(ys[i]);
}

std::vector<chart> build_charts(std::span<const sample> samples) {
  const chart_builder b(samples);
  const extras extra(samples, {hot_copies_key, "scenario_failures_total"});
  auto int_column = [&](std::int64_t sample::*member) {
    return [&samples, member](std::size_t row) { return std::optional<double>(double(samples[row].*member)); };
  };
  auto extra_key = [&](std::string key) {
    return [&extra, key = std::move(key)](std::size_t row) { return extra.get(row, key); };
  };
  auto per_group = [&](const sample& s) { return b.group_label(s); };

  std::vector<chart> charts;
  // live_bytes is the context's buffer-layer gauge (every scenario's sample of one context carries
  // the same value), so one line per context; RSS is the process's, so one line.
  charts.push_back(b.make("live_bytes", "Live bytes (buffer layer, per context)", chart_unit::bytes,
                          b.by_group([](const sample& s) { return s.context.empty() ? std::string("-") : s.context; },
                                     int_column(&sample::live_bytes))));
  charts.push_back(
      b.make("rss_bytes", "Resident memory (process RSS)", chart_unit::bytes,
             b.by_group([](const sample&) { return std::string("RSS"); }, int_column(&sample::rss_bytes))));

  // Latency: one chart per scenario. Samples that measured nothing (iterations == 0) carry no
  // quantiles; the gate skips them too.
  std::set<std::string> scenario_names;
  for (const auto& s : samples) scenario_names.insert(s.scenario);
  for (const auto& name : scenario_names) {
    std::vector<chart_series> lines;
    const std::pair<const char*, double sample::*> quantiles[] = {{"p50", &sample::latency_p50_seconds},
                                                                  {"p90", &sample::latency_p90_seconds},
                                                                  {"p99", &sample::latency_p99_seconds}};
    for (const auto& [q, member] : quantiles) {
      auto key = [&, q](const sample& s) {
        if (s.scenario != name) return std::string();
        return b.group_label(s) == s.scenario ? std::string(q) : fmt::format("{} {}", q, s.context);
      };
      auto measured = [&samples, member](std::size_t row) {
        return samples[row].iterations > 0 ? finite(samples[row].*member) : std::nullopt;
      };
      for (auto& line : b.by_group(key, measured)) lines.push_back(std::move(line));
    }
    charts.push_back(b.make("latency." + name, fmt::format("Latency quantiles per sample interval: {}", name),
                            chart_unit::seconds, std::move(lines)));
  }
  if (scenario_names.empty()) {
    charts.push_back(b.make("latency", "Latency quantiles per sample interval", chart_unit::seconds, {}));
  }

  charts.push_back(b.make("copies_all", "Buffer copies, all paths (copies_total, per scenario)", chart_unit::count,
                          b.by_group(per_group, int_column(&sample::copies_total))));
  charts.push_back(b.make("copies_hot", "Hot-path copies (copies_total{path=\"hot\"}, per scenario; should stay 0)",
                          chart_unit::count, b.by_group(per_group, extra_key(hot_copies_key))));
  charts.push_back(b.make("failures", "Failures (all scenarios)", chart_unit::count,
                          {b.run_total("errors_total", int_column(&sample::errors_total)),
                           b.run_total("scenario_failures_total", extra_key("scenario_failures_total"), true)}));
  for (auto& c : charts) bucket(c, report_max_points);
  return charts;
}

// The stored verdicts as gate rows (when the plan's thresholds cannot be re-evaluated).
gate_report stored_gate(const run_record& run, std::size_t samples, const std::vector<threshold_result>& verdicts) {
  gate_report report{.run_id = run.id, .state = run.state, .sample_count = samples, .provenance = run.provenance};
  for (const auto& v : verdicts) {
    gate_row row{.threshold = v.threshold,
                 .observed = v.observed,
                 .status = v.passed ? gate_status::passed : gate_status::failed,
                 .detail = "as stored when the run ended (a stored failure may have been no data)"};
    if (auto t = scenarios::parse_threshold(v.threshold); t && !t->rhs_metric) row.limit = t->value;
    report.rows.push_back(std::move(row));
  }
  return report;
}

}  // namespace

std::size_t chart::points() const noexcept {
  std::size_t n = 0;
  for (const auto& s : series)
    n += static_cast<std::size_t>(std::ranges::count_if(s.y, [](const auto& v) { return v.has_value(); }));
  return n;
}

result<run_report> load_report(run_store& store, std::string_view run_id) {
  GPUSOAK_TRY_ASSIGN(auto run, store.get_run(run_id));
  GPUSOAK_TRY_ASSIGN(auto samples, store.samples(run_id));
  GPUSOAK_TRY_ASSIGN(auto events, store.events(run_id));
  GPUSOAK_TRY_ASSIGN(auto phases, store.phases(run_id));
  GPUSOAK_TRY_ASSIGN(auto verdicts, store.verdicts(run_id));
  GPUSOAK_TRY_ASSIGN(auto evaluations, store.evaluations(run_id));

  run_report report{.run = std::move(run), .phases = std::move(phases)};
  report.evaluations = std::move(evaluations);

  std::map<group_key, run_report::group_figures> groups;
  std::map<group_key, std::vector<const sample*>> measured;  // samples with ops, for the histograms
  for (const auto& s : samples) {
    auto& g = groups[{s.scenario, s.context}];
    if (g.samples == 0 || s.t_seconds >= g.last.t_seconds) g.last = s;  // insertion order breaks ties
    ++g.samples;
    if (s.iterations > 0) measured[{s.scenario, s.context}].push_back(&s);
  }
  for (auto& [key, g] : groups) {
    if (const auto rows = measured.find(key); rows != measured.end()) {
      g.latency = merge_sample_histograms(rows->second, "latency");
    }
    report.last_figures.push_back(std::move(g));
  }

  for (const auto& e : events) {
    if (e.level == "error") {
      ++report.error_events;
      report.errors.push_back(e);
    } else if (e.level == "warn") {
      ++report.warn_events;
    } else {
      ++report.info_events;
    }
  }
  std::ranges::stable_sort(report.errors, {}, &event::t_seconds);

  // Re-evaluated rather than read back: the same rows as the verdicts the runner stored at the
  // end, with their limits and details, and for a run that never reached its end (interrupted,
  // could not run) the figures so far.
  auto plan = scenarios::parse_plan(report.run.plan_text, fmt::format("run {} plan", report.run.id));
  if (plan && !plan->thresholds.empty()) {
    GPUSOAK_TRY_ASSIGN(auto gate, evaluate_gate(report.run, samples, plan->thresholds, {}, report.phases));
    report.gate = std::move(gate);
    report.gate_source = "plan";
  } else if (!verdicts.empty()) {
    report.gate = stored_gate(report.run, samples.size(), verdicts);
    report.gate_source = "stored";
  } else {
    report.gate = {.run_id = report.run.id,
                   .state = report.run.state,
                   .sample_count = samples.size(),
                   .provenance = report.run.provenance};
    report.gate_source = "none";
  }
  report.charts = build_charts(samples);
  return report;
}

}  // namespace gpusoak::harness
