// The run report as one self-contained HTML page: verdict, gate table and facts rendered here (so
// they read without JavaScript), charts drawn in the browser by uPlot from the JSON in the page.
#include <fmt/format.h>

#include <string>

#include "gpusoak/harness/provenance_text.hpp"
#include "gpusoak/harness/report.hpp"
#include "gpusoak/harness/xml_text.hpp"  // HTML text needs the same escapes as XML
#include "report_assets.hpp"
#include "report_json.hpp"

namespace gpusoak::harness {
namespace {

// JSON inside <script>: '<' only occurs in strings, where \u003c means the same and cannot end
// the element early ("</script>" in an event message).
std::string script_json(const nlohmann::json& j) {
  std::string out;
  for (char c : j.dump()) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  return out;
}

std::string_view chart_unit_name(chart_unit unit) {
  switch (unit) {
    case chart_unit::bytes: return "bytes";
    case chart_unit::seconds: return "seconds";
    case chart_unit::count: return "count";
  }
  return "count";
}

nlohmann::json charts_json(const std::vector<chart>& charts) {
  auto out = nlohmann::json::array();
  for (const auto& c : charts) {
    nlohmann::json series = nlohmann::json::array();
    for (const auto& s : c.series) {
      nlohmann::json y = nlohmann::json::array();
      for (const auto& v : s.y) y.push_back(v ? nlohmann::json(*v) : nlohmann::json(nullptr));
      series.push_back({{"label", s.label}, {"dashed", s.dashed}, {"y", std::move(y)}});
    }
    out.push_back({{"id", c.id},
                   {"title", c.title},
                   {"unit", chart_unit_name(c.unit)},
                   {"x", c.x},
                   {"series", std::move(series)}});
  }
  return out;
}

std::string fact(std::string_view name, std::string_view value) {
  return fmt::format("<div><dt>{}</dt><dd>{}</dd></div>", detail::xml_escape(name), detail::xml_escape(value));
}

std::string header(const run_report& r) {
  const auto& run = r.run;
  const auto state = to_string(run.state);
  std::string h = fmt::format("<header class=\"state-{}\">\n<h1>gpusoak run {} <span class=\"badge\">{}</span></h1>\n",
                              state, detail::xml_escape(run.id), detail::xml_escape(state));
  if (!run.verdict_reason.empty())
    h += fmt::format("<p class=\"reason\">{}</p>\n", detail::xml_escape(run.verdict_reason));
  h += "<dl class=\"facts\">";
  h += fact("plan", run.plan_name);
  h += fact("device", run.device.empty() ? "-" : run.device);
  h += fact("time scale", fmt::format("{:g}", run.time_scale));
  h += fact("elapsed", fmt::format("{:.1f} s", run.elapsed_seconds));
  h += fact("created", detail::format_timestamp(run.created_at));
  h += fact("started", run.started_at ? detail::format_timestamp(*run.started_at) : "-");
  h += fact("ended", run.ended_at ? detail::format_timestamp(*run.ended_at) : "-");
  h += fact("samples", std::to_string(run.sample_count));
  h += fact("events", fmt::format("{} ({} error)", run.event_count, r.error_events));
  h += fact("phases", std::to_string(run.phase_count));
  const auto& p = run.provenance;
  h += fact("mask", detail::mask_text(p.mask));
  h += fact("renderer", p.gl_renderer.empty() ? "not recorded" : p.gl_renderer);
  h += fact("driver", p.gl_version.empty() ? "not recorded" : p.gl_version);
  h += "</dl>\n</header>\n";
  return h;
}

// Everything the run recorded about what it ran, as name / value rows (the same names as the
// gate's JUnit properties).
std::string provenance_section(const run_report& r) {
  std::string s = "<section id=\"provenance\"><h2>What it ran</h2>\n<table><tr><th>what</th><th>value</th></tr>\n";
  for (const auto& [name, value] : detail::provenance_facts(r.run.provenance)) {
    s += fmt::format("<tr><td>{}</td><td><code>{}</code></td></tr>\n", detail::xml_escape(name),
                     detail::xml_escape(value));
  }
  return s + "</table></section>\n";
}

// Ad-hoc evaluations kept by `gpusoak gate --save`; none: no section.
std::string evaluations_section(const run_report& r) {
  if (r.evaluations.empty()) return {};
  std::string s = fmt::format(
      "<section id=\"evaluations\"><h2>Saved ad-hoc evaluations ({})</h2>\n<p class=\"detail\">Kept by "
      "<code>gpusoak gate --save</code>; the run's verdict above is its own.</p>\n<table><tr><th>#</th>"
      "<th>evaluated</th><th>thresholds</th><th>exit</th><th>rows</th></tr>\n",
      r.evaluations.size());
  for (const auto& e : r.evaluations) {
    std::string rows;
    for (const auto& row : e.rows) {
      rows += fmt::format("{}<code>{}</code> {}", rows.empty() ? "" : "<br>", detail::xml_escape(row.threshold),
                          detail::xml_escape(row.status));
    }
    s += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n", e.id,
                     detail::format_timestamp(e.evaluated_at), detail::xml_escape(e.basis), e.exit_code, rows);
  }
  return s + "</table></section>\n";
}

std::string gate_section(const run_report& r) {
  std::string s = "<section id=\"gate\"><h2>Gate</h2>\n";
  const char* source = r.gate_source == "plan" ? "The run's plan thresholds, re-evaluated on its stored samples."
                       : r.gate_source == "stored"
                           ? "The verdicts stored by the last gate (the plan has no thresholds)."
                           : "No thresholds: the plan has none and no gate stored verdicts.";
  s += fmt::format("<p>{}</p>\n", source);
  if (!r.gate.rows.empty()) {
    s += "<table><tr><th></th><th>threshold</th><th>observed</th><th>limit</th><th>how</th></tr>\n";
    for (const auto& row : r.gate.rows) {
      const auto [observed, limit] = format_gate_values(row);
      const char* mark = row.status == gate_status::passed ? "✓" : row.status == gate_status::failed ? "✗" : "?";
      s += fmt::format(
          "<tr class=\"{}\"><td class=\"mark\">{}</td><td><code>{}</code></td><td class=\"num observed\">{}</td>"
          "<td class=\"num\">{}</td><td class=\"detail\">{}</td></tr>\n",
          to_string(row.status), mark, detail::xml_escape(row.threshold), detail::xml_escape(observed),
          detail::xml_escape(limit), detail::xml_escape(row.detail));
    }
    s += "</table>\n";
    s += fmt::format("<p>{} passed, {} failed, {} no data, {} not enough data.</p>\n",
                     r.gate.count(gate_status::passed), r.gate.count(gate_status::failed),
                     r.gate.count(gate_status::no_data), r.gate.count(gate_status::not_enough_data));
  }
  return s + "</section>\n";
}

std::string charts_section(const run_report& r) {
  std::string s =
      "<section id=\"charts\"><h2>Over run time</h2>\n<p class=\"detail\">x: run time (seconds since the run "
      "started, carried over a resume). Latency quantiles are per sample interval.</p>\n<div class=\"charts\">\n";
  for (const auto& c : r.charts) {
    s += fmt::format(
        "<figure class=\"chart\" data-chart=\"{}\" data-status=\"pending\"><figcaption>{}</figcaption>"
        "<div class=\"plot\"></div><p class=\"chart-note\">chart not drawn: the page's script did not run</p>"
        "</figure>\n",
        detail::xml_escape(c.id), detail::xml_escape(c.title));
  }
  return s + "</div></section>\n";
}

std::string details_section(const run_report& r) {
  std::string s =
      "<section id=\"phases\"><h2>Phases</h2>\n<table><tr><th>#</th><th>phase</th><th>state</th>"
      "<th>started</th><th>ended</th></tr>\n";
  for (const auto& p : r.phases) {
    s += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", p.index,
                     detail::xml_escape(p.name), to_string(p.state), detail::format_timestamp(p.started_at),
                     p.ended_at ? detail::format_timestamp(*p.ended_at) : "-");
  }
  s += "</table></section>\n";

  s += "<section id=\"figures\"><h2>Last figures per scenario</h2>\n<table><tr><th>scenario</th><th>context</th>"
       "<th>t (s)</th><th>live buffers</th><th>live bytes</th><th>RSS bytes</th><th>copies</th><th>errors</th>"
       "<th>p99 (s)</th><th>extra</th></tr>\n";
  for (const auto& g : r.last_figures) {
    const auto& x = g.last;
    s += fmt::format(
        "<tr><td>{}</td><td>{}</td><td class=\"num\">{:.1f}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.3g}</td>"
        "<td class=\"detail\"><code>{}</code></td></tr>\n",
        detail::xml_escape(x.scenario), detail::xml_escape(x.context), x.t_seconds, x.live_buffers, x.live_bytes,
        x.rss_bytes, x.copies_total, x.errors_total, x.latency_p99_seconds, detail::xml_escape(x.extra_json));
  }
  s += "</table></section>\n";

  s += fmt::format("<section id=\"errors\"><h2>Error events ({})</h2>\n", r.errors.size());
  if (r.errors.empty())
    s += "<p>None.</p>\n";
  else {
    s += "<table><tr><th>t (s)</th><th>scenario</th><th>message</th></tr>\n";
    for (const auto& e : r.errors) {
      s += fmt::format("<tr><td class=\"num\">{:.1f}</td><td>{}</td><td>{}</td></tr>\n", e.t_seconds,
                       detail::xml_escape(e.scenario), detail::xml_escape(e.message));
    }
    s += "</table>\n";
  }
  return s + "</section>\n";
}

}  // namespace

std::string report_html(const run_report& r) {
  auto data = detail::report_json_value(r);
  data["charts"] = charts_json(r.charts);

  std::string page =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      // Nothing may load from elsewhere: the file must open offline, and this makes it fail loudly
      // (in the headless test) rather than quietly depend on a network.
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; "
      "style-src 'unsafe-inline'; img-src data:\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  page += fmt::format("<title>gpusoak run {} ({})</title>\n", detail::xml_escape(r.run.id), to_string(r.run.state));
  page += fmt::format("<style id=\"uplot-css\">{}</style>\n<style>{}</style>\n</head>\n", detail::uPlot_min_css,
                      detail::report_css);
  page += "<body data-report=\"loading\">\n";
  page += header(r);
  page += gate_section(r);
  page += charts_section(r);
  page += details_section(r);
  page += provenance_section(r);
  page += evaluations_section(r);
  page += fmt::format("<footer>Generated by gpusoak report from the run store. Charts: uPlot {} (MIT).</footer>\n",
                      GPUSOAK_UPLOT_VERSION);
  page += fmt::format("<script type=\"application/json\" id=\"report-data\">{}</script>\n", script_json(data));
  page += fmt::format("<script id=\"uplot-js\">{}</script>\n<script>{}</script>\n", detail::uPlot_iife_min_js,
                      detail::report_js);
  page += "</body>\n</html>\n";
  return page;
}

}  // namespace gpusoak::harness
