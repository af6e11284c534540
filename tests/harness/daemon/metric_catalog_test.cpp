// The metric catalog (scenarios/include/gpusoak/scenarios/metric_catalog.hpp) against everything
// that must agree with it: docs/metrics.md's tables, the families a real gpusoakd serves on
// /metrics after a smoke run, the samples that run stored, and the gate reading each catalogued
// series from those samples.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "daemon_calls.hpp"
#include "daemon_process.hpp"
#include "gpusoak/buffers/counters.hpp"
#include "gpusoak/harness/gate.hpp"
#include "gpusoak/harness/run_store.hpp"
#include "gpusoak/scenarios/metric_catalog.hpp"
#include "gpusoak/scenarios/scenario_names.hpp"
#include "temp_dir.hpp"

namespace gpusoak::harness {
namespace {

using scenarios::metric_catalog;
using scenarios::metric_info;
using scenarios::metric_kind;
using scenarios::sample_storage;

std::set<std::string> words(std::string_view list) {
  std::set<std::string> out;
  std::istringstream in{std::string(list)};
  for (std::string w; in >> w;) out.insert(w);
  return out;
}

std::string_view kind_name(metric_kind kind) {
  switch (kind) {
    case metric_kind::counter: return "counter";
    case metric_kind::gauge: return "gauge";
    case metric_kind::histogram: return "histogram";
  }
  return "?";
}

std::string_view unit_name(scenarios::metric_unit unit) {
  switch (unit) {
    case scenarios::metric_unit::seconds: return "seconds";
    case scenarios::metric_unit::bytes: return "bytes";
    case scenarios::metric_unit::count: return "count";
  }
  return "?";
}

std::string storage_text(const metric_info& m) {
  switch (m.storage) {
    case sample_storage::column: return fmt::format("column {}", m.key);
    case sample_storage::extra: return fmt::format("extra_json {}", m.key);
    case sample_storage::buckets: return fmt::format("histogram {}", m.key);
    case sample_storage::derived: return fmt::format("derived from {}", m.key);
    case sample_storage::none: break;
  }
  return "";
}

// The labels a threshold on m may match, as docs/metrics.md lists them.
std::set<std::string> threshold_label_set(const metric_info& m) {
  std::set<std::string> out{"scenario", "context"};
  if (scenarios::list_has(m.labels, "path")) out.insert("path");
  return out;
}

// The cells of a markdown table row, trimmed; empty when the line is not a row.
std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  if (!line.starts_with("|")) return out;
  std::string cell;
  for (std::size_t i = 1; i < line.size(); ++i) {
    if (line[i] != '|') {
      cell += line[i];
      continue;
    }
    const auto b = cell.find_first_not_of(' '), e = cell.find_last_not_of(' ');
    out.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
    cell.clear();
  }
  return out;
}

// The words in backticks in a cell, in order.
std::vector<std::string> code_words(const std::string& cell) {
  std::vector<std::string> out;
  static const std::regex code("`([^`]*)`");
  for (auto it = std::sregex_iterator(cell.begin(), cell.end(), code); it != std::sregex_iterator(); ++it) {
    out.push_back((*it)[1]);
  }
  return out;
}

struct doc_family {
  std::string type;  // first word of the type cell
  std::set<std::string> labels;
};

struct doc_series {
  std::string kind, unit, producers, stored, exported;
  std::set<std::string> labels;
};

struct metrics_doc {
  std::map<std::string, doc_family> families;
  std::map<std::string, doc_series> series;
};

metrics_doc read_metrics_doc() {
  std::ifstream in(std::string(GPUSOAK_SOURCE_DIR) + "/docs/metrics.md");
  EXPECT_TRUE(in.good()) << "docs/metrics.md not readable";
  metrics_doc doc;
  for (std::string line; std::getline(in, line);) {
    const auto c = cells(line);
    if (c.size() < 3) continue;
    const auto name = code_words(c[0]);
    if (name.size() != 1) continue;
    if (name[0].starts_with("gpusoak_") && c.size() == 4) {
      const auto labels = code_words(c[2]);
      doc.families[name[0]] = {c[1].substr(0, c[1].find(' ')), {labels.begin(), labels.end()}};
    } else if (c.size() == 7) {
      const auto labels = code_words(c[3]);
      const auto exported = code_words(c[6]);
      doc.series[name[0]] = {.kind = c[1],
                             .unit = c[2],
                             .producers = c[4],
                             .stored = std::regex_replace(c[5], std::regex("`"), ""),
                             .exported = exported.empty() ? "" : exported[0],
                             .labels = {labels.begin(), labels.end()}};
    }
  }
  return doc;
}

// checks that docs/metrics.md documents every catalogued family with its type and labels and every
// series thresholds may name with its kind, unit, labels, producers, storage and family, and
// nothing the catalog does not have
TEST(metric_catalog_test, docs_metrics_md_matches_the_catalog) {
  const auto doc = read_metrics_doc();
  std::set<std::string> families, names;
  for (const auto& m : metric_catalog) {
    if (!m.family.empty()) {
      families.emplace(m.family);
      const auto it = doc.families.find(std::string(m.family));
      if (it == doc.families.end()) {
        ADD_FAILURE() << m.family << " is catalogued but not documented in a family table";
      } else {
        EXPECT_EQ(it->second.type, kind_name(m.kind)) << m.family;
        EXPECT_EQ(it->second.labels, words(m.labels)) << m.family;
      }
    }
    if (m.name.empty()) continue;
    names.emplace(m.name);
    const auto it = doc.series.find(std::string(m.name));
    if (it == doc.series.end()) {
      ADD_FAILURE() << m.name << " is catalogued but not in the samples table";
      continue;
    }
    const auto& d = it->second;
    EXPECT_EQ(d.kind, kind_name(m.kind)) << m.name;
    EXPECT_EQ(d.unit, unit_name(m.unit)) << m.name;
    EXPECT_EQ(d.labels, threshold_label_set(m)) << m.name;
    EXPECT_EQ(d.producers, m.producers == "*" ? std::string("every scenario") : std::string(m.producers)) << m.name;
    EXPECT_EQ(d.stored, storage_text(m)) << m.name;
    EXPECT_EQ(d.exported, m.family) << m.name;
  }
  for (const auto& [family, f] : doc.families) EXPECT_TRUE(families.contains(family)) << family << " not catalogued";
  for (const auto& [name, s] : doc.series) EXPECT_TRUE(names.contains(name)) << name << " not catalogued";
  EXPECT_GE(doc.families.size(), 25u) << "the family tables were not parsed";
  EXPECT_GE(doc.series.size(), 20u) << "the samples table was not parsed";
}

// The families /metrics serves: name -> (TYPE, label names seen on its series).
std::map<std::string, doc_family> served_families(const std::string& text) {
  std::map<std::string, doc_family> out;
  std::istringstream lines(text);
  static const std::regex label_name(R"(([a-zA-Z_][a-zA-Z0-9_]*)=")");  // Prometheus label names
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("# TYPE ")) {
      std::istringstream in(line.substr(7));
      std::string name, type;
      in >> name >> type;
      out[name].type = type;
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    std::string series = line.substr(0, line.find_first_of("{ "));
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string base = series.substr(0, series.size() - std::string_view(suffix).size());
      if (series.ends_with(suffix) && out.contains(base) && out[base].type == "histogram") series = base;
    }
    const auto brace = line.find('{');
    if (brace == std::string::npos) continue;
    const std::string labels = line.substr(brace, line.find('}') - brace);
    for (auto it = std::sregex_iterator(labels.begin(), labels.end(), label_name); it != std::sregex_iterator(); ++it) {
      if ((*it)[1] != "le") out[series].labels.insert((*it)[1]);
    }
  }
  return out;
}

// Every key extra_json must hold for a sample of `scenario`.
std::vector<std::string> expected_keys(std::string_view scenario) {
  std::vector<std::string> out;
  for (const auto& m : metric_catalog) {
    if (m.name.empty() || !scenarios::produced_by(m, scenario)) continue;
    if (m.storage == sample_storage::extra) out.emplace_back(m.key);
    if (m.storage == sample_storage::buckets) {
      for (const char* part : {"_hist", "_sum_seconds", "_max_seconds"})
        out.push_back(fmt::format("{}{}", m.key, part));
    }
    if (scenarios::list_has(m.labels, "path")) {
      for (std::size_t p = 0; p < gpu::copy_path_count; ++p) {
        out.push_back(fmt::format("{}{{path=\"{}\"}}", m.name, gpu::to_string(static_cast<gpu::copy_path>(p))));
      }
    }
  }
  out.emplace_back("copies_total{path=\"hot\"}");
  return out;
}

// One threshold per catalogued series, with an aggregation its kind supports and a bound every
// value meets: the gate must find data for each.
std::vector<scenarios::threshold> one_threshold_per_series() {
  std::vector<scenarios::threshold> out;
  for (const auto& m : metric_catalog) {
    if (m.name.empty()) continue;
    const std::string text = m.kind == metric_kind::histogram       ? fmt::format("p99({}) >= 0", m.name)
                             : m.storage == sample_storage::derived ? fmt::format("{} > -1e300", m.name)
                             : m.kind == metric_kind::gauge         ? fmt::format("max({}) >= 0", m.name)
                                                                    : fmt::format("{} >= 0", m.name);
    auto t = scenarios::parse_threshold(text);
    EXPECT_TRUE(t.has_value()) << text << ": " << t.error().message;
    if (t) out.push_back(*t);
  }
  for (std::size_t p = 0; p < gpu::copy_path_count; ++p) {
    const auto path = gpu::to_string(static_cast<gpu::copy_path>(p));
    out.push_back(*scenarios::parse_threshold(fmt::format("copies_total{{path=\"{}\"}} >= 0", path)));
    out.push_back(*scenarios::parse_threshold(fmt::format("copied_bytes_total{{path=\"{}\"}} >= 0", path)));
  }
  return out;
}

// checks a real gpusoakd after a smoke run: /metrics serves exactly the catalogued families with
// their types and labels; each stored sample carries every series the catalog says its scenario
// produces; and the gate finds data for a threshold on every catalogued series (and loses it when
// a planted fault strips a key from the samples)
TEST(metric_catalog_test, daemon_metrics_samples_and_gate_match_the_catalog) {
  test::temp_dir dir{"gpusoak-catalog"};
  std::string id;
  {
    test::daemon_process d(dir / "state");
    const auto reply = d.call("POST", "/api/v1/runs", R"({"plan": "smoke", "time_scale": 0.05})");
    ASSERT_EQ(reply.status, 201) << reply.body;
    id = test::body_json(reply)["id"];
    const auto run = test::wait_final(d, id);
    EXPECT_EQ(run["state"], "passed") << run.dump(2);

    const auto metrics = d.call("GET", "/metrics");
    ASSERT_EQ(metrics.status, 200);
    const auto served = served_families(metrics.body);
    std::set<std::string> catalogued;
    for (const auto& m : metric_catalog) {
      if (m.family.empty()) continue;
      catalogued.emplace(m.family);
      const auto it = served.find(std::string(m.family));
      if (it == served.end()) {
        ADD_FAILURE() << m.family << " is catalogued but not served";
        continue;
      }
      EXPECT_EQ(it->second.type, kind_name(m.kind)) << m.family;
      EXPECT_EQ(it->second.labels, words(m.labels)) << m.family;
    }
    for (const auto& [family, f] : served)
      EXPECT_TRUE(catalogued.contains(family)) << family << " served, not catalogued";
  }

  auto store = run_store::open((dir / "state" / "runs.db").string());
  ASSERT_TRUE(store.has_value()) << store.error().message;
  auto samples = store->samples(id);
  ASSERT_TRUE(samples.has_value()) << samples.error().message;
  std::set<std::string> sampled;
  for (const auto& s : *samples) {
    sampled.insert(s.scenario);
    const auto extra = nlohmann::json::parse(s.extra_json);
    for (const auto& key : expected_keys(s.scenario)) {
      EXPECT_TRUE(extra.contains(key)) << s.scenario << " at t=" << s.t_seconds << " lacks " << key;
    }
    if (!scenarios::produced_by(*scenarios::find_metric_info("fragmentation_ratio"), s.scenario)) {
      EXPECT_FALSE(extra.contains("fragmentation_ratio")) << s.scenario << " carries a series it does not produce";
    }
  }
  EXPECT_EQ(sampled.size(), scenarios::known_scenarios.size());

  const auto run = store->get_run(id);
  ASSERT_TRUE(run.has_value()) << run.error().message;
  const auto thresholds = one_threshold_per_series();
  const auto report = evaluate_gate(*run, *samples, thresholds, {});
  ASSERT_TRUE(report.has_value()) << report.error().message;
  // GPU memory is sampled only where the driver reports it; elsewhere its row says why, never a pass.
  const bool gpu_memory_sampled = std::ranges::any_of(
      *samples, [](const sample& s) { return nlohmann::json::parse(s.extra_json).contains("gpu_memory_used_bytes"); });
  for (const auto& row : report->rows) {
    if (!gpu_memory_sampled && row.threshold.starts_with("gpu_memory_leak_slope_bytes_per_hour")) {
      EXPECT_EQ(row.status, gate_status::no_data) << row.detail;
      EXPECT_TRUE(row.detail.starts_with("not available: ")) << row.detail;
      continue;
    }
    EXPECT_EQ(row.status, gate_status::passed) << row.threshold << ": " << row.detail;
  }
  EXPECT_GT(report->rows.size(), 20u);

  // Planted fault: the fence-wait histogram stripped from every sample leaves its threshold no data.
  auto stripped = *samples;
  for (auto& s : stripped) {
    auto extra = nlohmann::json::parse(s.extra_json);
    extra.erase("fence_wait_hist");
    s.extra_json = extra.dump();
  }
  const auto fence = scenarios::parse_threshold("p99(fence_wait_seconds) < 1s");
  const auto planted = evaluate_gate(*run, stripped, std::span(&*fence, 1), {});
  ASSERT_TRUE(planted.has_value());
  EXPECT_EQ(planted->rows.at(0).status, gate_status::no_data) << planted->rows.at(0).detail;
}

}  // namespace
}  // namespace gpusoak::harness
