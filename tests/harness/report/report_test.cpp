// `gpusoak report` on a real SQLite run store filled with random but known samples: the text and
// JSON summaries show the stored figures, the gate is re-evaluated from the plan, the chart
// series match the samples, and bad input gets exit 2 with a message.
#include "gpusoak/harness/report.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_in_process.hpp"
#include "gpusoak/harness/commands.hpp"
#include "gpusoak/harness/run_store.hpp"
#include "gpusoak/harness/sample_histogram.hpp"
#include "gpusoak/harness/sha256.hpp"
#include "gpusoak/scenarios/scenario.hpp"
#include "report_fixture.hpp"
#include "stored_run_builder.hpp"
#include "temp_store.hpp"

namespace gpusoak::harness {
namespace {

using test::cli;

namespace fs = std::filesystem;
using nlohmann::json;

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override { run_ = test::make_synthetic_run(*store_); }

  std::string db_path() const { return store_.db_path(); }

  run_report load(const std::string& id) {
    auto r = load_report(*store_, id);
    if (!r) throw std::runtime_error(r.error().message);
    return std::move(*r);
  }

  const chart& find_chart(const run_report& r, const std::string& id) {
    for (const auto& c : r.charts) {
      if (c.id == id) return c;
    }
    throw std::runtime_error("no chart " + id);
  }

  // The observed values the gate must find, worked out here from the stored samples.
  double max_measured_p99() const {
    double top = 0;
    for (const auto& s : run_.samples) {
      if (s.iterations > 0) top = std::max(top, s.latency_p99_seconds);
    }
    return top;
  }
  double errors_total() const {
    return double(run_.last("conv2d_steady").errors_total + run_.last("leak_cycle").errors_total);
  }

  test::temp_store store_{"gpusoak-report"};
  test::synthetic_run run_;
};

// checks that the text summary names the run, its state and reason, phases, counts, each
// scenario's last stored figures, the error events and a gate table re-evaluated from the plan
TEST_F(ReportTest, TextShowsStoredFigures) {
  std::string out, err;
  ASSERT_EQ(cli({"report", run_.id, "--db", db_path()}, &out, &err), exit_pass) << err;
  EXPECT_NE(out.find("run " + run_.id + "  plan report-test  device 1  time scale 0.5"), std::string::npos) << out;
  EXPECT_NE(out.find("state: failed (2 scenario failures)"), std::string::npos) << out;
  EXPECT_NE(out.find("warmup           passed"), std::string::npos) << out;
  EXPECT_NE(out.find("churn            failed"), std::string::npos) << out;
  EXPECT_NE(out.find("80 samples, 4 events (2 error, 1 warn, 1 info)"), std::string::npos) << out;
  for (const auto& name : run_.scenarios) {
    const auto& s = run_.last(name);
    const auto block = out.find(name + " @ egl0  (last sample at t ");
    ASSERT_NE(block, std::string::npos) << name << "\n" << out;
    const auto text = out.substr(block, out.find("\n  ", out.find("latency", block)) - block);
    EXPECT_NE(text.find(fmt::format("live buffers {}  live bytes {} (", s.live_buffers, s.live_bytes)),
              std::string::npos)
        << text;
    EXPECT_NE(text.find(fmt::format("rss {} (", s.rss_bytes)), std::string::npos) << text;
    EXPECT_NE(text.find(fmt::format("copies_total {}  errors_total {}  iterations {}", s.copies_total, s.errors_total,
                                    s.iterations)),
              std::string::npos)
        << text;
    EXPECT_NE(text.find(fmt::format("p99 {:.3g} ms", s.latency_p99_seconds * 1e3)), std::string::npos) << text;
  }
  EXPECT_NE(out.find("conv2d_steady: wrong conv2d result at 17"), std::string::npos) << out;
  EXPECT_NE(out.find("leak_cycle: pattern mismatch at byte 4096 <b>"), std::string::npos) << out;
  EXPECT_EQ(out.find("slow fence"), std::string::npos) << "warn events are counted, not listed";
  EXPECT_LT(out.find("wrong conv2d result"), out.find("pattern mismatch")) << "error events in time order";
  EXPECT_NE(out.find("gate (the run's plan thresholds, re-evaluated on its samples)"), std::string::npos) << out;
  EXPECT_NE(out.find(fmt::format("✗ errors_total == 0")), std::string::npos) << out;
  EXPECT_NE(out.find("FAIL (exit 1)"), std::string::npos) << out;
}

// checks that the text and JSON show each scenario's latency over the whole run from its samples'
// log histograms added up: the op count, and p50/p90/p99 within 1% of the exact ones with the bound
TEST_F(ReportTest, RunWideLatencyQuantilesWithTheirBound) {
  std::vector<double> values;
  for (int i = 0; i < 1000; ++i) values.push_back(0.001 + 0.00004 * i);  // 1 ms .. 41 ms, evenly
  std::vector<sample> samples;
  for (int part = 0; part < 4; ++part) {
    scenarios::latency_histogram h;
    for (std::size_t i = static_cast<std::size_t>(part); i < values.size(); i += 4) h.add(values[i]);
    const json extra{{"latency_hist", log_histogram_json(h.fine)},
                     {"latency_sum_seconds", h.sum_seconds},
                     {"latency_max_seconds", h.max_seconds}};
    samples.push_back({.t_seconds = 1.0 + part,
                       .scenario = "conv2d_steady",
                       .context = "egl0",
                       .iterations = static_cast<std::int64_t>(h.count),
                       .extra_json = extra.dump()});
  }
  const auto id = test::stored_run_builder(*store_, {.plan_name = "report-test", .plan_text = test::report_plan_yaml})
                      .running()
                      .samples(samples)
                      .finish(run_state::passed, "test")
                      .id();
  const auto r = load(id);
  ASSERT_EQ(r.last_figures.size(), 1u);
  ASSERT_TRUE(r.last_figures[0].latency.has_value());
  EXPECT_EQ(r.last_figures[0].latency->h.count, 1000u);
  const std::string text = format_report_text(r);
  EXPECT_NE(text.find("latency over the run (1000 ops):  p50 "), std::string::npos) << text;
  EXPECT_NE(text.find(" ms ±1%  p99 "), std::string::npos) << text;
  EXPECT_EQ(text.find("latency_hist="), std::string::npos) << "the histogram is read, not dumped:\n" << text;
  const auto j = json::parse(report_json(r))["last_figures"][0]["run_latency"];
  EXPECT_EQ(j["ops"], 1000);
  for (const auto& [name, q] : {std::pair{"p50", 0.5}, std::pair{"p90", 0.9}, std::pair{"p99", 0.99}}) {
    const double exact = values[static_cast<std::size_t>(q * 999)];
    EXPECT_NEAR(j[name]["value"].get<double>(), exact, exact * 0.01) << name;
    EXPECT_EQ(j[name]["relative_error"], 0.01) << name;
  }
}

// checks that --json carries exactly the stored figures and the re-evaluated gate's observed values
TEST_F(ReportTest, JsonMatchesStore) {
  std::string out, err;
  ASSERT_EQ(cli({"report", run_.id, "--db", db_path(), "--json"}, &out, &err), exit_pass) << err;
  const json j = json::parse(out);
  EXPECT_EQ(j["run"]["id"], run_.id);
  EXPECT_EQ(j["run"]["state"], "failed");
  EXPECT_EQ(j["run"]["verdict_reason"], "2 scenario failures");
  EXPECT_EQ(j["run"]["device"], "1");
  // Made without a mask or a context: not recorded (null), not "none"; the plan's hash always.
  EXPECT_TRUE(j["run"]["provenance"]["mask"].is_null());
  EXPECT_TRUE(j["run"]["provenance"]["gl_renderer"].is_null());
  EXPECT_EQ(j["run"]["provenance"]["plan_sha256"], sha256_hex(test::report_plan_yaml));
  EXPECT_TRUE(j["evaluations"].empty());
  EXPECT_DOUBLE_EQ(j["run"]["elapsed_seconds"].get<double>(), run_.samples.back().t_seconds);
  EXPECT_EQ(j["counts"]["samples"], 80);
  EXPECT_EQ(j["counts"]["error_events"], 2);
  ASSERT_EQ(j["phases"].size(), 2u);
  EXPECT_EQ(j["phases"][1]["name"], "churn");
  EXPECT_EQ(j["phases"][1]["state"], "failed");
  ASSERT_EQ(j["last_figures"].size(), 2u);
  for (const auto& f : j["last_figures"]) {
    const auto& s = run_.last(f["scenario"].get<std::string>());
    EXPECT_EQ(f["context"], "egl0");
    EXPECT_EQ(f["samples"], 40);
    EXPECT_EQ(f["t_seconds"].get<double>(), s.t_seconds);
    EXPECT_EQ(f["live_bytes"].get<std::int64_t>(), s.live_bytes);
    EXPECT_EQ(f["rss_bytes"].get<std::int64_t>(), s.rss_bytes);
    EXPECT_EQ(f["live_buffers"].get<std::int64_t>(), s.live_buffers);
    EXPECT_EQ(f["copies_total"].get<std::int64_t>(), s.copies_total);
    EXPECT_EQ(f["errors_total"].get<std::int64_t>(), s.errors_total);
    EXPECT_EQ(f["latency_p99_seconds"].get<double>(), s.latency_p99_seconds);
    EXPECT_EQ(f["extra"], json::parse(s.extra_json));
  }
  EXPECT_EQ(j["gate_source"], "plan");
  const auto& rows = j["gate"]["rows"];
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0]["status"], "passed");
  EXPECT_DOUBLE_EQ(rows[0]["observed"].get<double>(), max_measured_p99());
  std::int64_t max_live = 0;
  for (const auto& s : run_.samples) max_live = std::max(max_live, s.live_bytes);
  EXPECT_DOUBLE_EQ(rows[1]["observed"].get<double>(), double(max_live));
  EXPECT_EQ(rows[2]["status"], "failed");
  EXPECT_DOUBLE_EQ(rows[2]["observed"].get<double>(), errors_total());
  EXPECT_GT(errors_total(), 0);
  EXPECT_EQ(j["gate"]["exit_code"], 1);
  // The report reads; it does not store verdicts (the fixture's run was never gated).
  auto verdicts = store_->verdicts(run_.id);
  ASSERT_TRUE(verdicts.has_value());
  EXPECT_TRUE(verdicts->empty());
}

// checks that every chart's series are the stored samples: one x per sample time, live bytes and
// RSS at every time, three quantiles per measured interval, cumulative counters' run totals
TEST_F(ReportTest, ChartSeriesMatchSamples) {
  const auto r = load(run_.id);
  std::set<double> times;
  for (const auto& s : run_.samples) times.insert(s.t_seconds);
  const std::vector<std::string> ids{
      "live_bytes", "rss_bytes", "latency.conv2d_steady", "latency.leak_cycle", "copies_all", "copies_hot", "failures"};
  ASSERT_EQ(r.charts.size(), ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(r.charts[i].id, ids[i]);
    EXPECT_EQ(r.charts[i].x, std::vector<double>(times.begin(), times.end()));
  }
  const auto& live = find_chart(r, "live_bytes");
  ASSERT_EQ(live.series.size(), 1u);
  EXPECT_EQ(live.series[0].label, "egl0");
  for (std::size_t i = 0; i < live.x.size(); ++i) {
    EXPECT_EQ(live.series[0].y[i], double(run_.samples[2 * i].live_bytes)) << i;
  }
  EXPECT_EQ(find_chart(r, "rss_bytes").series[0].y.back(), double(run_.samples.back().rss_bytes));

  const auto& lat = find_chart(r, "latency.conv2d_steady");
  ASSERT_EQ(lat.series.size(), 3u);
  EXPECT_EQ(lat.series[2].label, "p99");
  EXPECT_EQ(lat.points(), 3u * 39u) << "the interval with iterations == 0 is not drawn";
  EXPECT_FALSE(lat.series[0].y[3].has_value());
  EXPECT_EQ(lat.series[2].y[5], run_.samples[10].latency_p99_seconds);
  EXPECT_EQ(find_chart(r, "latency.leak_cycle").points(), 3u * 40u);

  const auto& hot = find_chart(r, "copies_hot");
  ASSERT_EQ(hot.series.size(), 2u);
  EXPECT_EQ(hot.series[1].label, "leak_cycle");
  EXPECT_EQ(hot.series[1].y.back(),
            json::parse(run_.last("leak_cycle").extra_json)["copies_total{path=\"hot\"}"].get<double>());
  EXPECT_EQ(find_chart(r, "copies_all").series[0].y.back(), double(run_.last("conv2d_steady").copies_total));

  const auto& failures = find_chart(r, "failures");
  ASSERT_EQ(failures.series.size(), 2u);
  EXPECT_EQ(failures.series[0].y.back(), errors_total());
  EXPECT_EQ(failures.series[1].y.back(), errors_total());
  EXPECT_EQ(failures.series[0].y.front(), double(run_.samples[0].errors_total + run_.samples[1].errors_total));
}

// checks that a long run is bucketed to report_max_points times and a one-sample peak survives
TEST_F(ReportTest, LongRunsAreBucketedKeepingPeaks) {
  const auto id =
      test::stored_run_builder(*store_, {.plan_name = "long", .plan_text = test::report_plan_yaml, .device = "0"})
          .running()
          .series(2200,
                  [](int i) {
                    return sample{.t_seconds = double(i),
                                  .scenario = "leak_cycle",
                                  .context = "c",
                                  .live_bytes = i == 1234 ? 999999 : 1000,
                                  .iterations = 1};
                  })
          .id();
  const auto r = load(id);
  const auto& live = find_chart(r, "live_bytes");
  EXPECT_EQ(live.x.size(), report_max_points);
  EXPECT_EQ(live.x.back(), 2199.0);
  EXPECT_EQ(*std::ranges::max_element(live.series[0].y), std::optional<double>(999999.0));
}

// checks that without plan thresholds the report shows the verdicts stored when the run ended
TEST_F(ReportTest, StoredVerdictsWithoutPlanThresholds) {
  const auto id = test::stored_run_builder(*store_, {.plan_name = "bare", .plan_text = "not: [a plan", .device = "0"})
                      .verdicts({{"copies_total == 0", 7, false}, {"errors_total == 0", 0, true}})
                      .id();
  const auto r = load(id);
  EXPECT_EQ(r.gate_source, "stored");
  ASSERT_EQ(r.gate.rows.size(), 2u);
  EXPECT_EQ(r.gate.rows[0].status, gate_status::failed);
  EXPECT_EQ(r.gate.rows[0].observed, 7.0);
  EXPECT_EQ(r.gate.rows[1].status, gate_status::passed);
  std::string out;
  ASSERT_EQ(cli({"report", id, "--db", db_path()}, &out), exit_pass);
  EXPECT_NE(out.find("the verdicts stored when the run ended"), std::string::npos) << out;
  EXPECT_NE(out.find("(no samples)"), std::string::npos) << out;
  // Every chart of a run without samples says so (the page marks them "no data").
  for (const auto& c : r.charts) EXPECT_EQ(c.points(), 0u) << c.id;
}

// checks that an unknown run id, a missing store file, a missing --db and a bad flag exit 2 naming
// the problem, that a missing store is not created, and that --help exits 0
TEST_F(ReportTest, BadInputExitsTwo) {
  std::string out, err;
  EXPECT_EQ(cli({"report", "r-19990101-0001", "--db", db_path()}, &out, &err), exit_could_not_run);
  EXPECT_NE(err.find("r-19990101-0001"), std::string::npos) << err;
  const std::string missing = (store_.dir() / "nope.db").string();
  EXPECT_EQ(cli({"report", run_.id, "--db", missing}, &out, &err), exit_could_not_run);
  EXPECT_NE(err.find("nope.db"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(missing));
  EXPECT_EQ(cli({"report", run_.id}, &out, &err), exit_could_not_run);
  EXPECT_NE(err.find("--db FILE or --daemon URL is required"), std::string::npos) << err;
  EXPECT_EQ(cli({"report", "--db", db_path()}, &out, &err), exit_could_not_run);
  EXPECT_NE(err.find("missing RUN_ID"), std::string::npos) << err;
  EXPECT_EQ(cli({"report", run_.id, "--db", db_path(), "--pdf", "x"}, &out, &err), exit_could_not_run);
  EXPECT_NE(err.find("pdf"), std::string::npos) << err;
  EXPECT_EQ(
      cli({"report", run_.id, "--db", db_path(), "--html", (store_.dir() / "no/such/dir/r.html").string()}, &out, &err),
      exit_could_not_run);
  EXPECT_NE(err.find("cannot write"), std::string::npos) << err;
  EXPECT_EQ(cli({"report", "--help"}, &out, &err), exit_pass);
  EXPECT_NE(out.find("--html FILE"), std::string::npos) << out;
  EXPECT_EQ(cli({"--help"}, &out, &err), exit_pass);
  EXPECT_NE(out.find("report "), std::string::npos) << out;
}

}  // namespace
}  // namespace gpusoak::harness
