// The run report as text for a terminal and as JSON for scripts (the HTML page embeds the JSON).
#include <fmt/format.h>

#include <cmath>
#include <ctime>

#include "gpusoak/harness/provenance_text.hpp"
#include "gpusoak/harness/report.hpp"
#include "gpusoak/scenarios/units.hpp"
#include "report_json.hpp"

namespace gpusoak::harness {
namespace {

using json = nlohmann::json;
using detail::format_timestamp;

std::string bytes(std::int64_t value) {
  if (value < 0) return fmt::format("{} B", value);
  return scenarios::format_bytes(static_cast<std::uint64_t>(value));
}

std::string latency(double seconds) {
  const double a = std::fabs(seconds);
  if (!std::isfinite(seconds)) return fmt::format("{}", seconds);
  if (a == 0) return "0";
  if (a < 1e-3) return fmt::format("{:.3g} us", seconds * 1e6);
  if (a < 1) return fmt::format("{:.3g} ms", seconds * 1e3);
  return fmt::format("{:.3g} s", seconds);
}

// "12.3 s", "2 h 03 min 04 s".
std::string span(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return fmt::format("{} s", seconds);
  if (seconds < 60) return fmt::format("{:.1f} s", seconds);
  const auto total = static_cast<long long>(std::llround(seconds));
  if (total < 3600) return fmt::format("{} min {:02} s", total / 60, total % 60);
  return fmt::format("{} h {:02} min {:02} s", total / 3600, total / 60 % 60, total % 60);
}

std::string json_number_text(const json& v) {
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number_float()) return fmt::format("{:g}", v.get<double>());
  return v.dump();
}

json optional_time(const std::optional<timestamp>& t) {
  return t ? json(format_timestamp(*t)) : json(nullptr);
}

json optional_number(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}

// The run-wide quantiles the report prints per scenario.
constexpr std::pair<const char*, double> run_quantiles[] = {{"p50", 0.50}, {"p90", 0.90}, {"p99", 0.99}};

// "4.98 ms ±1%", or an old run's "50 ms (bucket 20 ms..50 ms)".
std::string quantile_text(const merged_histogram& m, double q) {
  const auto r = m.quantile(q);
  if (!r) return "-";
  if (r->relative_error) return fmt::format("{} ±{:g}%", latency(r->value), *r->relative_error * 100);
  return fmt::format("{} (bucket {}..{})", latency(r->value), latency(r->low), latency(r->high));
}

// {"ops", "max_seconds", "p50": {"value", "low", "high", "relative_error"}, "p90", "p99"}; null
// without histograms.
json run_latency_json(const std::optional<merged_histogram>& m) {
  if (!m) return nullptr;
  json j{{"ops", m->h.count}, {"max_seconds", m->h.max_seconds}};
  for (const auto& [name, q] : run_quantiles) {
    const auto r = m->quantile(q);
    j[name] = r ? json{{"value", r->value},
                       {"low", r->low},
                       {"high", r->high},
                       {"relative_error", r->relative_error ? json(*r->relative_error) : json(nullptr)}}
                : json(nullptr);
  }
  return j;
}

std::string or_not_recorded(const std::string& text) {
  return text.empty() ? "not recorded" : text;
}

// "stream_to_gpu persistent_coherent, gpu_reads_many device_local_staged"; a scenario with two
// strategies (a fallback after a rebuild) is listed twice.
std::string strategy_list(const run_provenance& p, strategy_subject subject) {
  std::string text;
  for (const auto& s : p.strategies) {
    if (s.subject == subject) text += fmt::format("{}{} {}", text.empty() ? "" : ", ", s.name, s.strategy);
  }
  return text.empty() ? "not recorded" : text;
}

}  // namespace

namespace detail {

std::string format_timestamp(timestamp t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(std::chrono::floor<std::chrono::seconds>(t));
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

nlohmann::json report_json_value(const run_report& r) {
  json j;
  const auto& run = r.run;
  j["run"] = {{"id", run.id},
              {"plan", run.plan_name},
              {"device", run.device},
              {"state", std::string(to_string(run.state))},
              {"verdict_reason", run.verdict_reason},
              {"time_scale", run.time_scale},
              {"created_at", format_timestamp(run.created_at)},
              {"started_at", optional_time(run.started_at)},
              {"ended_at", optional_time(run.ended_at)},
              {"elapsed_seconds", run.elapsed_seconds},
              {"provenance", provenance_json(run.provenance)}};
  j["phases"] = json::array();
  for (const auto& p : r.phases) {
    j["phases"].push_back({{"index", p.index},
                           {"name", p.name},
                           {"state", std::string(to_string(p.state))},
                           {"started_at", format_timestamp(p.started_at)},
                           {"ended_at", optional_time(p.ended_at)}});
  }
  j["counts"] = {{"phases", run.phase_count},    {"samples", run.sample_count},  {"events", run.event_count},
                 {"info_events", r.info_events}, {"warn_events", r.warn_events}, {"error_events", r.error_events},
                 {"verdicts", run.verdict_count}};
  j["last_figures"] = json::array();
  for (const auto& g : r.last_figures) {
    const auto& s = g.last;
    auto extra = json::parse(s.extra_json, nullptr, /*allow_exceptions=*/false);
    j["last_figures"].push_back({{"scenario", s.scenario},
                                 {"context", s.context},
                                 {"samples", g.samples},
                                 {"t_seconds", s.t_seconds},
                                 {"live_buffers", s.live_buffers},
                                 {"live_bytes", s.live_bytes},
                                 {"rss_bytes", s.rss_bytes},
                                 {"copies_total", s.copies_total},
                                 {"errors_total", s.errors_total},
                                 {"iterations", s.iterations},
                                 {"latency_p50_seconds", s.latency_p50_seconds},
                                 {"latency_p90_seconds", s.latency_p90_seconds},
                                 {"latency_p99_seconds", s.latency_p99_seconds},
                                 {"run_latency", run_latency_json(g.latency)},
                                 {"extra", extra.is_object() ? extra : json::object()}});
  }
  j["errors"] = json::array();
  for (const auto& e : r.errors) {
    j["errors"].push_back({{"t_seconds", e.t_seconds}, {"scenario", e.scenario}, {"message", e.message}});
  }
  j["gate_source"] = r.gate_source;
  j["gate"] = json::parse(gate_json(r.gate));
  j["evaluations"] = json::array();
  for (const auto& e : r.evaluations) {
    json rows = json::array();
    for (const auto& row : e.rows) {
      rows.push_back({{"threshold", row.threshold},
                      {"status", row.status},
                      {"observed", optional_number(row.observed)},
                      {"limit", optional_number(row.limit)},
                      {"detail", row.detail}});
    }
    j["evaluations"].push_back({{"id", e.id},
                                {"evaluated_at", format_timestamp(e.evaluated_at)},
                                {"basis", e.basis},
                                {"warmup_fraction", e.warmup_fraction},
                                {"exit_code", e.exit_code},
                                {"rows", std::move(rows)}});
  }
  return j;
}

}  // namespace detail

std::string report_json(const run_report& report) {
  return detail::report_json_value(report).dump(2) + "\n";
}

std::string format_report_text(const run_report& r) {
  const auto& run = r.run;
  std::string t;
  t += fmt::format("run {}  plan {}  device {}  time scale {:g}\n", run.id, run.plan_name,
                   run.device.empty() ? "-" : run.device, run.time_scale);
  t += fmt::format("state: {}{}\n", to_string(run.state),
                   run.verdict_reason.empty() ? "" : fmt::format(" ({})", run.verdict_reason));
  t += fmt::format("created {}  started {}  ended {}\n", format_timestamp(run.created_at),
                   run.started_at ? format_timestamp(*run.started_at) : "-",
                   run.ended_at ? format_timestamp(*run.ended_at) : "-");
  t += fmt::format("elapsed (run time) {}\n", span(run.elapsed_seconds));

  const auto& p = run.provenance;
  t += "\nwhat it ran:\n";
  t += fmt::format("  mask          {}\n", detail::mask_text(p.mask));
  t += fmt::format("  renderer      {}\n", or_not_recorded(p.gl_renderer));
  t += fmt::format("  driver        {}\n", or_not_recorded(p.gl_version));
  t += fmt::format("  vendor        {}{}\n", or_not_recorded(p.gl_vendor),
                   p.vendor_class.empty() ? "" : fmt::format(" ({})", p.vendor_class));
  t += fmt::format("  by usage      {}\n", strategy_list(p, strategy_subject::usage));
  t += fmt::format("  by scenario   {}\n", strategy_list(p, strategy_subject::scenario));
  t += fmt::format("  gpusoak       {} (commit {})\n", or_not_recorded(p.gpusoak_version),
                   or_not_recorded(p.gpusoak_commit));
  t += fmt::format("  plan sha256   {}\n", or_not_recorded(p.plan_sha256));

  t += fmt::format("\nphases ({}):\n", r.phases.size());
  for (const auto& p : r.phases) {
    std::string took = "-";
    if (p.ended_at) took = span(std::chrono::duration<double>(*p.ended_at - p.started_at).count());
    t += fmt::format("  {:>2}  {:<16} {:<12} started {}  took {}\n", p.index, p.name, to_string(p.state),
                     format_timestamp(p.started_at), took);
  }

  t += fmt::format("\n{} samples, {} events ({} error, {} warn, {} info), {} stored verdicts\n", run.sample_count,
                   run.event_count, r.error_events, r.warn_events, r.info_events, run.verdict_count);

  t += "\nlast figures per scenario:\n";
  if (r.last_figures.empty()) t += "  (no samples)\n";
  for (const auto& g : r.last_figures) {
    const auto& s = g.last;
    t += fmt::format("  {}{}  (last sample at t {}, {} samples)\n", s.scenario,
                     s.context.empty() ? "" : fmt::format(" @ {}", s.context), span(s.t_seconds), g.samples);
    t += fmt::format("    live buffers {}  live bytes {} ({})  rss {} ({})\n", s.live_buffers, s.live_bytes,
                     bytes(s.live_bytes), s.rss_bytes, bytes(s.rss_bytes));
    t += fmt::format("    copies_total {}  errors_total {}  iterations {}\n", s.copies_total, s.errors_total,
                     s.iterations);
    t += fmt::format("    latency p50 {}  p90 {}  p99 {} (last interval)\n", latency(s.latency_p50_seconds),
                     latency(s.latency_p90_seconds), latency(s.latency_p99_seconds));
    if (g.latency && g.latency->h.count > 0) {
      std::string line;
      for (const auto& [name, q] : run_quantiles) line += fmt::format("  {} {}", name, quantile_text(*g.latency, q));
      t += fmt::format("    latency over the run ({} ops):{}  max {}\n", g.latency->h.count, line,
                       latency(g.latency->h.max_seconds));
    }
    const auto extra = json::parse(s.extra_json, nullptr, /*allow_exceptions=*/false);
    if (extra.is_object() && !extra.empty()) {
      std::string line;
      for (const auto& [key, value] : extra.items()) {
        if (key.ends_with("_hist") || key.ends_with("_buckets")) continue;  // read above, not printable
        line += fmt::format(" {}={}", key, json_number_text(value));
      }
      t += fmt::format("   {}\n", line);
    }
  }

  t += fmt::format("\nerror events ({}):\n", r.errors.size());
  if (r.errors.empty()) t += "  (none)\n";
  for (const auto& e : r.errors) {
    t += fmt::format("  [{:>9}] {}{}\n", span(e.t_seconds), e.scenario.empty() ? "" : e.scenario + ": ", e.message);
  }

  const char* source = r.gate_source == "plan"     ? "the run's plan thresholds, re-evaluated on its samples"
                       : r.gate_source == "stored" ? "the verdicts stored when the run ended"
                                                   : "no thresholds in the plan and no stored verdicts";
  t += fmt::format("\ngate ({}):\n", source);
  if (!r.gate.rows.empty()) t += format_gate_table(r.gate);

  if (!r.evaluations.empty()) {
    t += fmt::format("\nsaved ad-hoc evaluations ({}; `gpusoak gate --save`, not the run's verdict):\n",
                     r.evaluations.size());
    for (const auto& e : r.evaluations) {
      t += fmt::format("  #{} {}  thresholds: {}  exit {}\n", e.id, format_timestamp(e.evaluated_at), e.basis,
                       e.exit_code);
      for (const auto& row : e.rows) {
        t += fmt::format("    {} {}  observed {}\n",
                         row.status == "passed"   ? "✓"
                         : row.status == "failed" ? "✗"
                                                  : "?",
                         row.threshold, row.observed ? fmt::format("{:g}", *row.observed) : "no data");
      }
    }
  }
  return t;
}

}  // namespace gpusoak::harness
