// The release gate on real SQLite run stores filled with synthetic samples: leak slopes, counters,
// latency bounds, no-data rows, JUnit/JSON output, and the CLI's exit codes.
#include "gpusoak/harness/gate.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <stdlib.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli_in_process.hpp"
#include "gate_texts.hpp"
#include "gpusoak/harness/cli_args.hpp"
#include "gpusoak/harness/commands.hpp"
#include "gpusoak/harness/report.hpp"
#include "gpusoak/harness/run_store.hpp"
#include "gpusoak/harness/sample_histogram.hpp"
#include "gpusoak/harness/sha256.hpp"
#include "gpusoak/scenarios/plan.hpp"
#include "gpusoak/scenarios/scenario.hpp"
#include "gpusoak/scenarios/threshold.hpp"
#include "stored_run_builder.hpp"
#include "temp_store.hpp"

namespace gpusoak::harness {
namespace {

using test::cli;

namespace fs = std::filesystem;
constexpr double mib = 1024.0 * 1024.0;

constexpr const char* plan_yaml = R"(name: gate-test
phases:
  - name: steady
    duration: 2h
    scenarios:
      - name: leak_cycle
thresholds:
  - "copies_total == 0"
  - "leak_slope_bytes_per_hour < 1MiB"
)";

class GateTest : public ::testing::Test {
 protected:
  std::string db_path() const { return store_.db_path(); }
  std::string path(const char* name) const { return (store_.dir() / name).string(); }

  // A finished run with the given samples.
  std::string make_run(const std::vector<sample>& samples, run_state final_state = run_state::passed) {
    return test::stored_run_builder(*store_, {.plan_name = "gate-test", .plan_text = plan_yaml, .device = "0"})
        .running()
        .samples(samples)
        .finish(final_state, "test")
        .id();
  }

  // A run as its runner leaves it: samples, its plan's verdicts stored while running, then the final
  // state the gate gave (failed for a leak). `mask` as the runner records it.
  std::string make_gated_run(const std::vector<sample>& samples, const std::string& mask = "coherent") {
    test::stored_run_builder run(*store_, {.plan_name = "gate-test",
                                           .plan_text = plan_yaml,
                                           .device = "egl_device:0",
                                           .mask = mask,
                                           .gpusoak_version = "0.1.0",
                                           .gpusoak_commit = "abc123def456"});
    run.running().samples(samples);
    auto plan = scenarios::parse_plan(plan_yaml, "gate-test");
    if (!plan) throw std::runtime_error(plan.error().message);
    auto report = run_gate(*store_, run.id(), plan->thresholds);
    if (!report) throw std::runtime_error(report.error().message);
    if (auto r = store_run_verdicts(*store_, *report); !r) throw std::runtime_error(r.error().message);
    run.finish(report->exit_code() == exit_pass ? run_state::passed : run_state::failed, "gate");
    return run.id();
  }

  // 2 hours, a sample every 10 s; live_bytes = base + slope * hours + noise, with optional spike.
  static std::vector<sample> series(double bytes_per_hour, bool spike, std::int64_t copies = 0,
                                    std::string extra = "{}") {
    std::mt19937 rng(1234);
    std::normal_distribution<double> noise(0, 64 * 1024);  // 64 KiB of jitter
    std::vector<sample> out;
    for (int i = 0; i <= 720; ++i) {
      sample s;
      s.t_seconds = i * 10.0;
      s.scenario = "leak_cycle";
      s.context = "0";
      s.live_buffers = 100;
      s.live_bytes = static_cast<std::int64_t>(256 * mib + bytes_per_hour * s.t_seconds / 3600 + noise(rng));
      if (spike && i == 400) s.live_bytes += static_cast<std::int64_t>(512 * mib);
      s.rss_bytes = static_cast<std::int64_t>(512 * mib);
      s.copies_total = i == 720 ? copies : 0;
      s.iterations = i * 10;
      s.latency_p50_seconds = 0.001;
      s.latency_p90_seconds = 0.002;
      s.latency_p99_seconds = i == 300 ? 0.030 : 0.004;
      s.extra_json = extra;
      out.push_back(s);
    }
    return out;
  }

  // conv2d_steady samples, one a second, carrying `values` (seconds, in order) as interval
  // histograms over `count` samples as the runner stores them; `old_form`: the 1-2-5 buckets of a
  // run stored before log histograms.
  static std::vector<sample> latency_samples(const std::vector<double>& values, int count, bool old_form = false) {
    std::vector<sample> out;
    for (int i = 0; i < count; ++i) {
      scenarios::latency_histogram h;
      for (std::size_t v = static_cast<std::size_t>(i); v < values.size(); v += static_cast<std::size_t>(count)) {
        h.add(values[v]);
      }
      nlohmann::json extra{{"latency_sum_seconds", h.sum_seconds}, {"latency_max_seconds", h.max_seconds}};
      if (old_form) {
        extra["latency_buckets"] = h.buckets;
      } else {
        extra["latency_hist"] = log_histogram_json(h.fine);
      }
      out.push_back({.t_seconds = 1.0 * i,
                     .scenario = "conv2d_steady",
                     .context = "0",
                     .latency_p99_seconds = h.quantile(0.99),
                     .iterations = static_cast<std::int64_t>(h.count),
                     .extra_json = extra.dump()});
    }
    return out;
  }

  // 1000 ops: 977 around 5 ms, 20 around `tail` (the exact p99, rank 989 of 0..999), 3 at 300 ms.
  static std::vector<double> tail_latencies(double tail) {
    std::mt19937_64 g(5);
    std::uniform_real_distribution<double> small(0.004, 0.006), jitter(-1e-4, 1e-4);
    std::vector<double> values;
    for (int i = 0; i < 977; ++i) values.push_back(small(g));
    for (int i = 0; i < 20; ++i) values.push_back(tail + jitter(g));
    for (int i = 0; i < 3; ++i) values.push_back(0.3);
    std::ranges::shuffle(values, g);
    return values;
  }

  gate_report gate(const std::string& id, const std::vector<std::string>& texts) {
    return test::gate_on_texts(*store_, id, texts);
  }

  test::temp_store store_{"gpusoak-gate", "runs.sqlite"};
};

// checks that a steady 2 MiB/hour leak under noise fails a 1 MiB/hour slope threshold, with the slope near 2 MiB
TEST_F(GateTest, SteadyLeakFails) {
  const auto id = make_run(series(2 * mib, false));
  const auto report = gate(id, {"leak_slope_bytes_per_hour < 1MiB"});
  ASSERT_EQ(report.rows.size(), 1u);
  EXPECT_EQ(report.rows[0].status, gate_status::failed) << report.rows[0].detail;
  ASSERT_TRUE(report.rows[0].observed.has_value());
  EXPECT_NEAR(*report.rows[0].observed, 2 * mib, 0.2 * mib);
  EXPECT_EQ(report.exit_code(), exit_fail);
}

// checks that a flat series with noise and one 512 MiB spike passes the slope threshold
TEST_F(GateTest, FlatSeriesWithSpikePasses) {
  const auto id = make_run(series(0, true));
  const auto report = gate(id, {"leak_slope_bytes_per_hour < 1MiB"});
  ASSERT_EQ(report.rows.size(), 1u);
  EXPECT_EQ(report.rows[0].status, gate_status::passed) << report.rows[0].detail;
  EXPECT_LT(std::fabs(*report.rows[0].observed), 0.2 * mib);
  EXPECT_EQ(report.exit_code(), exit_pass);
}

// checks that copies in the last sample fail copies_total == 0 and none pass it; evaluating stores nothing
TEST_F(GateTest, CopiesTotal) {
  const auto dirty = make_run(series(0, false, 3));
  auto report = gate(dirty, {"copies_total == 0"});
  EXPECT_EQ(report.rows[0].status, gate_status::failed);
  EXPECT_EQ(report.rows[0].observed, 3.0);
  EXPECT_TRUE(store_->verdicts(dirty).value().empty());
  EXPECT_TRUE(store_->evaluations(dirty).value().empty());

  const auto clean = make_run(series(0, false, 0));
  EXPECT_EQ(gate(clean, {"copies_total == 0"}).exit_code(), exit_pass);
}

// checks that a metric with no data is a no_data row (exit 2), and that a failure elsewhere wins (exit 1)
TEST_F(GateTest, AbsentMetricIsNoData) {
  const auto id = make_run(series(0, false, 5));
  auto report = gate(id, {"integrity_failures_total == 0"});
  EXPECT_EQ(report.rows[0].status, gate_status::no_data);
  EXPECT_FALSE(report.rows[0].observed.has_value());
  EXPECT_EQ(report.exit_code(), exit_could_not_run);
  report = gate(id, {"integrity_failures_total == 0", "copies_total == 0"});
  EXPECT_EQ(report.exit_code(), exit_fail);
  // A scenario label that matches no sample is no data too, not a pass.
  report = gate(id, {"copies_total{scenario=\"oom\"} == 0"});
  EXPECT_EQ(report.rows[0].status, gate_status::no_data);
}

// checks that extra_json figures (plain and labelled series) and metric-vs-metric thresholds evaluate
TEST_F(GateTest, ExtraJsonAndMetricComparison) {
  const auto id = make_run(series(
      0, false, 0,
      R"({"integrity_failures_total": 0, "oom_events_total": 4, "oom_recoveries_total": 4, "copies_total{path=\"hot\"}": 2})"));
  const auto report = gate(id, {"integrity_failures_total == 0", "oom_recoveries_total == oom_events_total",
                                "copies_total{path=\"hot\"} == 0"});
  EXPECT_EQ(report.rows[0].status, gate_status::passed) << report.rows[0].detail;
  EXPECT_EQ(report.rows[1].status, gate_status::passed) << report.rows[1].detail;
  EXPECT_EQ(report.rows[1].limit, 4.0);
  EXPECT_EQ(report.rows[2].status, gate_status::failed) << report.rows[2].detail;
  EXPECT_EQ(report.rows[2].observed, 2.0);
}

// checks that extra_json run totals take rate() (per second over the run) and that an extra_json
// gauge's bare value is the latest sample's, not a sum over the samples
TEST_F(GateTest, ExtraJsonRateAndLatestGauge) {
  auto samples = series(0, false);
  for (auto& s : samples) {  // 720 samples 10 s apart: 3 iterations a second; progress t / 7200 s
    s.extra_json = fmt::format(R"({{"scenario_iterations_total": {}, "run_progress_ratio": {}}})",
                               static_cast<int>(s.t_seconds * 3), s.t_seconds / 7200);
  }
  const auto report = gate(make_run(samples), {"rate(scenario_iterations_total) == 3", "run_progress_ratio == 1",
                                               "rate(run_progress_ratio) == 0"});
  EXPECT_EQ(report.rows[0].status, gate_status::passed) << report.rows[0].detail;
  EXPECT_EQ(report.rows[1].status, gate_status::passed) << report.rows[1].detail;
  EXPECT_EQ(report.rows[2].status, gate_status::no_data) << "rate() of a gauge: " << report.rows[2].detail;
}

// checks that latency quantiles are the max of per-sample quantiles (an upper bound) and p999 is no data
TEST_F(GateTest, LatencyUpperBound) {
  const auto id = make_run(series(0, false));
  const auto report = gate(id, {"p99(op_latency_seconds) < 20ms", "p50(op_latency_seconds) < 2ms",
                                "p999(op_latency_seconds) < 1s", "p99(conv2d_latency_seconds) < 1s"});
  EXPECT_EQ(report.rows[0].status, gate_status::failed);
  EXPECT_DOUBLE_EQ(*report.rows[0].observed, 0.030);
  EXPECT_EQ(report.rows[1].status, gate_status::passed);
  EXPECT_EQ(report.rows[2].status, gate_status::no_data);
  EXPECT_EQ(report.rows[3].status, gate_status::no_data);  // no conv2d_steady samples
}

// checks on a stored run that p99 < 50ms passes when the true p99 is 45 ms and fails at 55 ms, each
// read within 1% of the exact p99 and printed with its bound; the same ops in the old 1-2-5
// buckets read 50 ms for 45 ms (the bucket's bound, printed as the bucket) and fail: they could not tell
TEST_F(GateTest, LogHistogramQuantileTellsFortyFiveFromFiftyFive) {
  for (const double tail : {0.045, 0.055}) {
    const auto values = tail_latencies(tail);
    auto sorted = values;
    std::ranges::sort(sorted);
    const double exact = sorted[989];
    const auto report = gate(make_run(latency_samples(values, 10)), {"p99(conv2d_latency_seconds) < 50ms"});
    const auto& row = report.rows.at(0);
    EXPECT_EQ(row.status, tail < 0.05 ? gate_status::passed : gate_status::failed) << row.detail;
    ASSERT_TRUE(row.observed.has_value());
    EXPECT_LE(std::fabs(*row.observed - exact) / exact, 0.01 + 1e-9) << *row.observed << " vs " << exact;
    ASSERT_TRUE(row.bound.has_value());
    EXPECT_EQ(row.bound->relative_error, 0.01);
    ASSERT_TRUE(row.data.has_value());
    EXPECT_EQ(row.data->found, 1000u);
    EXPECT_NE(row.detail.find("1000 ops over 10 samples"), std::string::npos) << row.detail;
    const auto table = format_gate_table(report);
    const std::string observed = format_gate_values(row).first;  // "44.6ms ±1%"
    EXPECT_TRUE(observed.starts_with(tail < 0.05 ? "4" : "5") && observed.ends_with("ms ±1%")) << observed;
    EXPECT_NE(table.find(observed), std::string::npos) << table;
    EXPECT_EQ(report.exit_code(), tail < 0.05 ? exit_pass : exit_fail);

    const auto old = gate(make_run(latency_samples(values, 10, true)), {"p99(conv2d_latency_seconds) < 50ms"});
    EXPECT_EQ(old.rows.at(0).status, gate_status::failed) << old.rows.at(0).detail;
    EXPECT_DOUBLE_EQ(*old.rows.at(0).observed, tail < 0.05 ? 0.05 : 0.1);
    ASSERT_TRUE(old.rows.at(0).bound.has_value());
    EXPECT_FALSE(old.rows.at(0).bound->relative_error.has_value());
    EXPECT_NE(old.rows.at(0).detail.find("1-2-5 buckets"), std::string::npos) << old.rows.at(0).detail;
    if (tail < 0.05) {
      EXPECT_NE(format_gate_table(old).find("50ms (20ms..50ms)"), std::string::npos) << format_gate_table(old);
    }
  }
}

// checks that too few ops is "not enough data", never a pass: 50 ops and p99 < 1s gives that row
// (exit 2, the count found and needed in its detail, JSON and JUnit), 200 ops passes; a rate
// over one sample is not enough data either
TEST_F(GateTest, TooFewOpsIsNotEnoughData) {
  std::vector<double> values(50, 0.004);
  const auto few = gate(make_run(latency_samples(values, 5)), {"p99(conv2d_latency_seconds) < 1s"});
  const auto& row = few.rows.at(0);
  EXPECT_EQ(row.status, gate_status::not_enough_data) << row.detail;
  EXPECT_EQ(few.exit_code(), exit_could_not_run);
  EXPECT_NE(row.detail.find("not enough data: 50 ops, p99 needs at least 100"), std::string::npos) << row.detail;
  ASSERT_TRUE(row.data.has_value());
  EXPECT_EQ(row.data->found, 50u);
  EXPECT_EQ(row.data->needed, 100u);

  const auto j = nlohmann::json::parse(gate_json(few));
  EXPECT_EQ(j["exit_code"], 2);
  EXPECT_EQ(j["not_enough_data"], 1);
  EXPECT_EQ(j["rows"][0]["status"], "not_enough_data");
  EXPECT_EQ(j["rows"][0]["data"]["found"], 50);
  EXPECT_EQ(j["rows"][0]["data"]["needed"], 100);
  EXPECT_EQ(j["rows"][0]["data"]["unit"], "ops");
  const auto xml = gate_junit_xml(few);
  EXPECT_NE(xml.find("type=\"not_enough_data\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("errors=\"1\""), std::string::npos) << xml;
  const auto table = format_gate_table(few);
  EXPECT_NE(table.find("? p99(conv2d_latency_seconds) < 1s"), std::string::npos) << table;
  EXPECT_NE(table.find("1 not enough data"), std::string::npos) << table;
  EXPECT_EQ(format_gate_values(row).first, "50 of 100 ops");
  EXPECT_NE(table.find("(exit 2)"), std::string::npos) << table;

  values.resize(200, 0.004);
  const auto enough = gate(make_run(latency_samples(values, 5)), {"p99(conv2d_latency_seconds) < 1s"});
  EXPECT_EQ(enough.rows.at(0).status, gate_status::passed) << enough.rows.at(0).detail;
  EXPECT_EQ(enough.exit_code(), exit_pass);

  const auto one = make_run({sample{.t_seconds = 1, .scenario = "leak_cycle", .context = "0"}});
  const auto rate = gate(one, {"rate(copies_total) < 1"});
  EXPECT_EQ(rate.rows.at(0).status, gate_status::not_enough_data) << rate.rows.at(0).detail;
  EXPECT_NE(rate.rows.at(0).detail.find("1 samples, rate needs at least 2"), std::string::npos)
      << rate.rows.at(0).detail;
  // Failing wins over too little data, as over no data.
  const auto both = gate(one, {"rate(copies_total) < 1", "copies_total > 5"});
  EXPECT_EQ(both.exit_code(), exit_fail);
}

// checks that an aborted run gates to exit 3 whatever its rows say
TEST_F(GateTest, AbortedRun) {
  const auto id = make_run(series(0, false), run_state::aborted);
  EXPECT_EQ(gate(id, {"copies_total == 0"}).exit_code(), exit_aborted);
}

// checks that a bad warm-up fraction is rejected and an unknown run is an error
TEST_F(GateTest, BadInput) {
  const auto id = make_run(series(0, false));
  auto t = scenarios::parse_threshold("copies_total == 0");
  ASSERT_TRUE(t.has_value());
  std::vector<scenarios::threshold> list{*t};
  EXPECT_FALSE(run_gate(*store_, id, list, {.warmup_fraction = 1.5}).has_value());
  EXPECT_FALSE(run_gate(*store_, "r-19700101-0001", list).has_value());
}

// checks that the JUnit XML parses with python3's xml.etree and has one failure and one error
TEST_F(GateTest, JunitIsWellFormed) {
  const auto id = make_run(series(2 * mib, false));
  const auto report =
      gate(id, {"leak_slope_bytes_per_hour < 1MiB", "integrity_failures_total == 0", "copies_total == 0"});
  { std::ofstream(path("junit.xml")) << gate_junit_xml(report); }
  const std::string script =
      "import sys, xml.etree.ElementTree as E; s = E.parse(sys.argv[1]).getroot().find('testsuite'); "
      "c = s.findall('testcase'); "
      "print(s.get('name'), s.get('tests'), s.get('failures'), s.get('errors'), len(c), "
      "sum(1 for x in c if x.find('failure') is not None), sum(1 for x in c if x.find('error') is not None))";
  const std::string command = "python3 -c \"" + script + "\" '" + path("junit.xml") + "'";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buffer[256] = {};
  std::string output;
  while (fgets(buffer, sizeof buffer, pipe)) output += buffer;
  ASSERT_EQ(pclose(pipe), 0) << output;
  EXPECT_EQ(output, "gpusoak gate 3 1 1 3 1 1\n");
}

// checks that the JSON form has the counts, statuses, a null observed value for no data, and what
// the run ran (a run without a recorded mask says null, not "none")
TEST_F(GateTest, JsonForm) {
  const auto id = make_run(series(0, false));
  const auto report = gate(id, {"copies_total == 0", "oom_events_total == 0"});
  const auto j = nlohmann::json::parse(gate_json(report));
  EXPECT_EQ(j["run_id"], id);
  EXPECT_EQ(j["exit_code"], 2);
  EXPECT_EQ(j["passed"], 1);
  EXPECT_EQ(j["no_data"], 1);
  EXPECT_EQ(j["rows"][0]["status"], "passed");
  EXPECT_TRUE(j["rows"][1]["observed"].is_null());
  EXPECT_TRUE(j["provenance"]["mask"].is_null());
  EXPECT_EQ(j["provenance"]["plan_sha256"], sha256_hex(plan_yaml));

  const auto masked = make_gated_run(series(0, false), "buffer_storage,coherent");
  const auto p = nlohmann::json::parse(gate_json(gate(masked, {"copies_total == 0"})))["provenance"];
  EXPECT_EQ(p["mask"], "buffer_storage,coherent");
  EXPECT_EQ(p["gpusoak_commit"], "abc123def456");
  EXPECT_EQ(p["gpusoak_version"], "0.1.0");
  EXPECT_TRUE(p["gl_renderer"].is_null());  // no context was recorded for it
  EXPECT_EQ(nlohmann::json::parse(
                gate_json(gate(make_gated_run(series(0, false), ""), {"copies_total == 0"})))["provenance"]["mask"],
            "none");
}

// checks that the JUnit properties name what the run ran: mask, commit, plan hash, and the
// strategies recorded per usage and per scenario
TEST_F(GateTest, JunitPropertiesCarryProvenance) {
  const auto id =
      test::stored_run_builder(
          *store_,
          {.plan_name = "gate-test", .plan_text = plan_yaml, .mask = "coherent", .gpusoak_commit = "abc123def456"})
          .running()
          .context({.gl_renderer = "llvmpipe <&>",
                    .usage_strategies = {{strategy_subject::usage, "stream_to_gpu", "persistent_flush"}}})
          .scenario_strategy("leak_cycle", "persistent_flush")
          .id();
  const auto xml = gate_junit_xml(gate(id, {"copies_total == 0"}));
  for (const std::string& property : std::vector<std::string>{
           R"(<property name="mask" value="coherent"/>)", R"(<property name="gpusoak_commit" value="abc123def456"/>)",
           R"(<property name="plan_sha256" value=")" + sha256_hex(plan_yaml) + R"("/>)",
           R"(<property name="gl_renderer" value="llvmpipe &lt;&amp;&gt;"/>)",
           R"(<property name="usage.stream_to_gpu" value="persistent_flush"/>)",
           R"(<property name="scenario.leak_cycle" value="persistent_flush"/>)",
           R"(<property name="gl_version" value="not recorded"/>)"}) {
    EXPECT_NE(xml.find(property), std::string::npos) << property << "\n" << xml;
  }
}

// checks the re-gate of a failed run: --threshold adds to the plan's thresholds (so a passing extra
// threshold cannot turn the failure into a pass: exit 1), and the run's stored verdicts, state and
// reason are exactly as its runner left them
TEST_F(GateTest, RegateAddsThresholdsAndNeverRewritesVerdicts) {
  const auto id = make_gated_run(series(2 * mib, false, 0, R"({"integrity_failures_total": 0})"));
  const auto before = store_->verdicts(id).value();
  ASSERT_EQ(before.size(), 2u);  // the plan's two thresholds; the leak fails one
  EXPECT_FALSE(before[1].passed);
  const auto run_before = store_->get_run(id).value();
  ASSERT_EQ(run_before.state, run_state::failed);

  std::string out, err;
  EXPECT_EQ(
      cli({"gate", id, "--db", db_path(), "--threshold", "integrity_failures_total == 0", "--json", path("added.json")},
          &out, &err),
      exit_fail)
      << out << err;
  EXPECT_NE(out.find("✓ integrity_failures_total == 0"), std::string::npos) << out;
  EXPECT_NE(out.find("✗ leak_slope_bytes_per_hour < 1MiB"), std::string::npos) << out;
  EXPECT_NE(out.find("thresholds: plan + 1 --threshold"), std::string::npos) << out;
  EXPECT_NE(out.find("mask coherent"), std::string::npos) << out;
  const auto j = nlohmann::json::parse(std::ifstream(path("added.json")));
  EXPECT_EQ(j["rows"].size(), 3u);
  EXPECT_EQ(j["basis"], "plan + 1 --threshold");
  // A threshold the plan already has is evaluated once.
  EXPECT_EQ(cli({"gate", id, "--db", db_path(), "--threshold", "copies_total == 0", "--json", path("dup.json")}),
            exit_fail);
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(path("dup.json")))["rows"].size(), 2u);
  // The plain re-gate: the plan's thresholds, the same verdict.
  EXPECT_EQ(cli({"gate", id, "--db", db_path()}), exit_fail);

  EXPECT_EQ(store_->verdicts(id).value(), before);
  const auto run_after = store_->get_run(id).value();
  EXPECT_EQ(run_after.state, run_state::failed);
  EXPECT_EQ(run_after.verdict_reason, run_before.verdict_reason);
  EXPECT_EQ(run_after.verdict_count, 2);
  EXPECT_TRUE(store_->evaluations(id).value().empty());  // nothing saved without --save
}

// checks --only: just its thresholds are evaluated (a failed run's passing subset exits 0), it is
// refused beside --threshold or --plan (exit 2 naming both), and the verdicts stay
TEST_F(GateTest, OnlyReplacesThePlanThresholds) {
  const auto id = make_gated_run(series(2 * mib, false, 0, R"({"integrity_failures_total": 0})"));
  const auto before = store_->verdicts(id).value();
  std::string out, err;
  EXPECT_EQ(
      cli({"gate", id, "--db", db_path(), "--only", "integrity_failures_total == 0", "--only", "copies_total == 0"},
          &out, &err),
      exit_pass)
      << out << err;
  EXPECT_EQ(out.find("leak_slope"), std::string::npos) << out;
  EXPECT_NE(out.find("thresholds: --only"), std::string::npos) << out;
  EXPECT_EQ(cli({"gate", id, "--db", db_path(), "--only", "leak_slope_bytes_per_hour < 1MiB"}), exit_fail);
  EXPECT_EQ(cli({"gate", id, "--db", db_path(), "--only", "copies_total == 0", "--threshold", "errors_total == 0"},
                &out, &err),
            exit_could_not_run);
  EXPECT_NE(err.find("--only"), std::string::npos) << err;
  EXPECT_NE(err.find("--threshold"), std::string::npos) << err;
  EXPECT_EQ(cli({"gate", id, "--db", db_path(), "--only", "copies_total == 0", "--plan", path("x.yaml")}, &out, &err),
            exit_could_not_run);
  EXPECT_NE(err.find("--plan"), std::string::npos) << err;
  EXPECT_EQ(cli({"gate", id, "--db", db_path(), "--only", "nonsense_metric < 1"}, &out, &err), exit_could_not_run);
  EXPECT_NE(err.find("--only"), std::string::npos) << err;
  EXPECT_EQ(cli({"gate", id, "--daemon", "http://127.0.0.1:1", "--only", "copies_total == 0"}, &out, &err),
            exit_could_not_run);
  EXPECT_NE(err.find("--only cannot be combined with --daemon"), std::string::npos) << err;
  EXPECT_EQ(store_->verdicts(id).value(), before);
  EXPECT_EQ(store_->get_run(id).value().state, run_state::failed);
}

// checks --save: the ad-hoc evaluation is stored apart with its thresholds, time and rows, reads
// back, shows in the report beside the run's own (unchanged) gate, and the verdicts stay as they were
TEST_F(GateTest, SavedEvaluationReadsBackApart) {
  const auto id = make_gated_run(series(2 * mib, false, 0, R"({"integrity_failures_total": 0})"));
  const auto before = store_->verdicts(id).value();
  const auto t0 = now_timestamp();
  std::string out, err;
  EXPECT_EQ(cli({"gate", id, "--db", db_path(), "--only", "integrity_failures_total == 0", "--only",
                 "oom_events_total == 0", "--save", "--warmup", "0.25"},
                &out, &err),
            exit_could_not_run)  // oom_events_total has no data
      << out << err;
  EXPECT_NE(out.find("saved as evaluation"), std::string::npos) << out;
  EXPECT_EQ(cli({"gate", id, "--db", db_path(), "--threshold", "integrity_failures_total == 0", "--save"}), exit_fail);
  const auto saved = store_->evaluations(id).value();
  ASSERT_EQ(saved.size(), 2u);
  EXPECT_EQ(saved[0].basis, "--only");
  EXPECT_EQ(saved[0].exit_code, exit_could_not_run);
  EXPECT_EQ(saved[0].warmup_fraction, 0.25);
  EXPECT_GE(saved[0].evaluated_at, std::chrono::floor<std::chrono::seconds>(t0));
  ASSERT_EQ(saved[0].rows.size(), 2u);
  EXPECT_EQ(saved[0].rows[0].threshold, "integrity_failures_total == 0");
  EXPECT_EQ(saved[0].rows[0].status, "passed");
  EXPECT_EQ(saved[0].rows[0].observed, 0.0);
  EXPECT_EQ(saved[0].rows[1].status, "no_data");
  EXPECT_FALSE(saved[0].rows[1].observed.has_value());
  EXPECT_EQ(saved[1].basis, "plan + 1 --threshold");
  EXPECT_EQ(saved[1].exit_code, exit_fail);
  EXPECT_EQ(saved[1].rows.size(), 3u);
  EXPECT_EQ(store_->verdicts(id).value(), before);

  auto report = load_report(*store_, id);
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_EQ(report->evaluations, saved);
  EXPECT_EQ(report->gate.exit_code(), exit_fail);  // the run's own thresholds
  const auto text = format_report_text(*report);
  EXPECT_NE(text.find("saved ad-hoc evaluations (2"), std::string::npos) << text;
  const auto j = nlohmann::json::parse(report_json(*report));
  ASSERT_EQ(j["evaluations"].size(), 2u);
  EXPECT_EQ(j["evaluations"][0]["basis"], "--only");
  EXPECT_TRUE(j["evaluations"][0]["rows"][1]["observed"].is_null());
  const auto html = report_html(*report);
  EXPECT_NE(html.find("id=\"evaluations\""), std::string::npos);
  EXPECT_NE(html.find("<tr><td>mask</td><td><code>coherent</code></td></tr>"), std::string::npos);
  EXPECT_NE(html.find("<tr><td>gpusoak_commit</td><td><code>abc123def456</code></td></tr>"), std::string::npos);
}

// checks the table: a check mark for a pass, a cross for a failure, the verdict line
TEST_F(GateTest, TableForm) {
  const auto id = make_run(series(2 * mib, false));
  const auto text = format_gate_table(gate(id, {"copies_total == 0", "leak_slope_bytes_per_hour < 1MiB"}));
  EXPECT_NE(text.find("✓ copies_total == 0"), std::string::npos) << text;
  EXPECT_NE(text.find("✗ leak_slope_bytes_per_hour < 1MiB"), std::string::npos) << text;
  EXPECT_NE(text.find("MiB"), std::string::npos) << text;
  EXPECT_NE(text.find("FAIL (exit 1)"), std::string::npos) << text;
}

// checks the CLI end to end: exit 0 pass, 1 fail, 2 no data / bad flags / unknown run, stored-plan thresholds, files
TEST_F(GateTest, CliExitCodes) {
  const auto leaky = make_run(series(2 * mib, false));
  const auto flat = make_run(series(0, false));
  std::string out, err;
  EXPECT_EQ(cli({"gate", flat, "--db", db_path(), "--threshold", "copies_total == 0", "--threshold",
                 "leak_slope_bytes_per_hour < 1MiB"},
                &out, &err),
            0)
      << out << err;
  EXPECT_NE(out.find("PASS"), std::string::npos) << out;
  // Thresholds from the run's stored plan; the leak fails it; files written.
  EXPECT_EQ(cli({"gate", leaky, "--db", db_path(), "--junit", path("j.xml"), "--json", path("g.json")}, &out, &err), 1)
      << out << err;
  EXPECT_TRUE(fs::exists(path("j.xml")));
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(path("g.json")))["failed"], 1);
  EXPECT_EQ(cli({"gate", flat, "--db", db_path(), "--threshold", "oom_events_total == 0"}, &out, &err), 2);
  EXPECT_EQ(cli({"gate", flat, "--db", db_path(), "--threshold", "nonsense_metric < 1"}, &out, &err), 2);
  EXPECT_NE(err.find("--threshold"), std::string::npos) << err;
  EXPECT_EQ(cli({"gate", "r-19700101-0001", "--db", db_path(), "--threshold", "copies_total == 0"}, &out, &err), 2);
  EXPECT_EQ(cli({"gate", flat, "--threshold", "copies_total == 0"}, &out, &err), 2);
  EXPECT_NE(err.find("--db"), std::string::npos) << err;
  EXPECT_EQ(cli({"gate", flat, "--db", db_path(), "--warmup", "2"}, &out, &err), 2);
  EXPECT_NE(err.find("--warmup"), std::string::npos) << err;
  EXPECT_EQ(cli({"gate", "--help"}, &out, &err), 0);
  EXPECT_NE(out.find("--threshold"), std::string::npos);
  EXPECT_EQ(cli({"gate", flat, "--db", path("missing.sqlite"), "--threshold", "copies_total == 0"}, &out, &err), 2);
  EXPECT_FALSE(fs::exists(path("missing.sqlite")));
}

// checks that the warm-up window discards an early ramp: fails with --warmup 0, passes with --warmup 0.6
TEST_F(GateTest, CliWarmupWindow) {
  auto samples = series(0, false);
  for (auto& s : samples) {
    // 100 MiB allocated over the first hour, flat afterwards.
    s.live_bytes += static_cast<std::int64_t>(100 * mib * std::min(s.t_seconds, 3600.0) / 3600);
  }
  const auto id = make_run(samples);
  const std::string leak = "leak_slope_bytes_per_hour < 1MiB";
  EXPECT_EQ(cli({"gate", id, "--db", db_path(), "--threshold", leak, "--warmup", "0"}), 1);
  EXPECT_EQ(cli({"gate", id, "--db", db_path(), "--threshold", leak, "--warmup", "0.6"}), 0);
}

// checks that --plan supplies thresholds and that an aborted run exits 3 through the CLI
TEST_F(GateTest, CliPlanFileAndAborted) {
  { std::ofstream(path("plan.yaml")) << plan_yaml; }
  const auto leaky = make_run(series(2 * mib, false));
  EXPECT_EQ(cli({"gate", leaky, "--db", db_path(), "--plan", path("plan.yaml")}), 1);
  std::string out, err;
  EXPECT_EQ(cli({"gate", leaky, "--db", db_path(), "--plan", path("no-such-plan.yaml")}, &out, &err), 2);
  EXPECT_NE(err.find("--plan"), std::string::npos) << err;
  const auto aborted = make_run(series(0, false), run_state::aborted);
  EXPECT_EQ(cli({"gate", aborted, "--db", db_path(), "--plan", path("plan.yaml")}), 3);
}

// checks cli_args: positionals only up to the allowed count, repeated flags keep every value, value() the last
TEST(CliArgs, PositionalAndRepeatedValues) {
  const std::vector<flag_spec> specs{{"threshold", "EXPR", ""}, {"json", "", ""}};
  const std::vector<std::string> args{"r-1", "--threshold", "a", "--json", "--threshold=b"};
  EXPECT_FALSE(cli_args::parse(args, specs).has_value());  // no positional allowed by default
  auto parsed = cli_args::parse(args, specs, 1);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->positional(), std::vector<std::string>{"r-1"});
  EXPECT_EQ(parsed->values("threshold"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(parsed->value("threshold"), "b");
  EXPECT_TRUE(parsed->has("json"));
  EXPECT_TRUE(parsed->values("missing").empty());
  const std::vector<std::string> two{"r-1", "r-2"};
  EXPECT_FALSE(cli_args::parse(two, specs, 1).has_value());
}

}  // namespace
}  // namespace gpusoak::harness
