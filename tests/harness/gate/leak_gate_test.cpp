// The gate's leak slopes on real SQLite run stores: fitted per phase and per context, each phase
// after its own warm-up, the worst one judged and named; RSS beside live bytes; phases too short to
// judge; no false alarm on noise.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "gate_texts.hpp"
#include "gpusoak/harness/gate.hpp"
#include "gpusoak/harness/leak_slope.hpp"
#include "gpusoak/scenarios/threshold.hpp"
#include "stored_run_builder.hpp"
#include "temp_store.hpp"

namespace gpusoak::harness {
namespace {

constexpr double mib = 1024.0 * 1024.0;
constexpr double gib = 1024.0 * mib;

// One phase of a synthetic run: its name and, per sample, the context and memory figures.
struct phase_spec {
  std::string name;
  double hours = 1;
  int samples = 120;
  // Live bytes and RSS at h hours into the phase (before noise), per context.
  std::function<double(double h, const std::string& context)> live = [](double, const std::string&) {
    return 256 * mib;
  };
  std::function<double(double h)> rss = [](double) { return 512 * mib; };
};

class LeakGateTest : public ::testing::Test {
 protected:
  // Stores a finished run of `phases` in order, a sample per context per instant, with Gaussian
  // noise of `noise` bytes on every figure (seeded).
  std::string make_run(const std::vector<phase_spec>& phases, const std::vector<std::string>& contexts = {"gpu0"},
                       double noise = 64 * 1024, unsigned seed = 1234) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> jitter(0, noise);
    test::stored_run_builder run(*store_, {.plan_name = "leak-test", .plan_text = "name: leak-test", .device = "0"});
    run.running();
    double t0 = 0;
    for (std::size_t p = 0; p < phases.size(); ++p) {
      const auto& spec = phases[p];
      run.phase(spec.name);
      for (int i = 1; i <= spec.samples; ++i) {
        const double h = spec.hours * i / spec.samples;
        const double rss = spec.rss(h) + jitter(rng);
        for (const auto& context : contexts) {
          run.sample({.t_seconds = t0 + h * 3600,
                      .scenario = "leak_cycle",
                      .context = context,
                      .live_bytes = static_cast<std::int64_t>(spec.live(h, context) + jitter(rng)),
                      .rss_bytes = static_cast<std::int64_t>(rss),
                      .iterations = 10,
                      .phase = static_cast<std::int64_t>(p)});
        }
      }
      run.end_phase(phase_state::passed);
      t0 += spec.hours * 3600;
    }
    return run.finish(run_state::passed, "test").id();
  }

  gate_report gate(const std::string& id, const std::vector<std::string>& texts) {
    return test::gate_on_texts(*store_, id, texts);
  }

  // The slope the gate used to report: one Theil-Sen fit over the whole run after a 10% warm-up.
  double whole_run_slope(const std::string& id) {
    const auto samples = store_->samples(id).value();
    const double cut = samples.front().t_seconds + 0.1 * (samples.back().t_seconds - samples.front().t_seconds);
    std::vector<point> points;
    for (const auto& s : samples) {
      if (s.t_seconds >= cut) points.push_back({s.t_seconds / 3600, static_cast<double>(s.live_bytes)});
    }
    return theil_sen_slope(points).value();
  }

  test::temp_store store_{"gpusoak-leak-gate", "runs.sqlite"};
};

// Holds 2 GiB (allocated in its first minutes, inside the warm-up), releases it over phase 1, then
// leaks 5 MiB/h in phase 2.
std::vector<phase_spec> hold_release_leak() {
  return {
      {.name = "hold",
       .live = [](double h, const std::string&) { return 256 * mib + 2 * gib * std::min(1.0, h * 20); }},
      {.name = "release", .live = [](double h, const std::string&) { return 256 * mib + 2 * gib * (1 - h); }},
      {.name = "leak", .live = [](double h, const std::string&) { return 256 * mib + 5 * mib * h; }},
  };
}

// checks that a late steady leak after a large release fails, naming phase 2 'leak', where the old
// whole-run slope was hugely negative and passed
TEST_F(LeakGateTest, LeakAfterReleaseFailsNamingThePhase) {
  const auto id = make_run(hold_release_leak());
  EXPECT_LT(whole_run_slope(id), -100 * mib);  // what the whole-run fit said: a "pass"
  const auto report = gate(id, {"leak_slope_bytes_per_hour < 1MiB"});
  ASSERT_EQ(report.rows.size(), 1u);
  const auto& row = report.rows[0];
  EXPECT_EQ(row.status, gate_status::failed) << row.detail;
  ASSERT_TRUE(row.observed.has_value());
  EXPECT_NEAR(*row.observed, 5 * mib, 0.5 * mib) << row.detail;
  EXPECT_NE(row.detail.find("worst: phase 2 'leak', context gpu0: +"), std::string::npos) << row.detail;
  EXPECT_NE(row.detail.find("phase 1 'release', context gpu0: -"), std::string::npos) << row.detail;
  EXPECT_EQ(report.exit_code(), exit_fail);
}

// checks that a clean run of phases at different levels (each allocating at its start) passes
TEST_F(LeakGateTest, CleanMultiPhaseRunPasses) {
  const auto level = [](double mib_level) {
    return [mib_level](double h, const std::string&) { return mib_level * mib * std::min(1.0, h * 30); };
  };
  const auto id = make_run({{.name = "small", .live = level(100)},
                            {.name = "large", .live = level(1500)},
                            {.name = "medium", .live = level(600)}});
  const auto report = gate(id, {"leak_slope_bytes_per_hour < 1MiB", "rss_leak_slope_bytes_per_hour < 1MiB"});
  for (const auto& row : report.rows) {
    EXPECT_EQ(row.status, gate_status::passed) << row.threshold << ": " << row.detail;
    ASSERT_TRUE(row.observed.has_value());
    EXPECT_LT(std::fabs(*row.observed), 0.25 * mib) << row.threshold << ": " << row.detail;
  }
  EXPECT_EQ(report.exit_code(), exit_pass);
}

// checks that one context leaking while another releases fails naming the leaking context, though
// the contexts' slopes summed are negative
TEST_F(LeakGateTest, OneContextLeakingWhileAnotherReleasesFailsNamingIt) {
  const auto id = make_run({{.name = "mixed",
                             .live =
                                 [](double h, const std::string& context) {
                                   return context == "gpu0" ? 1 * gib * (1 - h) : 64 * mib + 8 * mib * h;
                                 }}},
                           {"gpu0", "gpu1"});
  const auto report =
      gate(id, {"leak_slope_bytes_per_hour < 1MiB", "leak_slope_bytes_per_hour{context=\"gpu0\"} < 1MiB"});
  const auto& all = report.rows.at(0);
  EXPECT_EQ(all.status, gate_status::failed) << all.detail;
  EXPECT_NEAR(all.observed.value(), 8 * mib, 0.5 * mib) << all.detail;
  EXPECT_NE(all.detail.find("worst: phase 0 'mixed', context gpu1: +"), std::string::npos) << all.detail;
  // The releasing context alone passes.
  EXPECT_EQ(report.rows.at(1).status, gate_status::passed) << report.rows.at(1).detail;
}

// checks that two contexts each growing below the bound fail it together, as the phase's total
TEST_F(LeakGateTest, ContextsSummedCanFailTogether) {
  const auto id =
      make_run({{.name = "pair", .live = [](double h, const std::string&) { return 64 * mib + 0.7 * mib * h; }}},
               {"gpu0", "gpu1"}, 16 * 1024);
  const gate_row row = gate(id, {"leak_slope_bytes_per_hour < 1MiB"}).rows.at(0);
  EXPECT_EQ(row.status, gate_status::failed) << row.detail;
  EXPECT_NEAR(row.observed.value(), 1.4 * mib, 0.1 * mib) << row.detail;
  EXPECT_NE(row.detail.find("2 contexts summed"), std::string::npos) << row.detail;
}

// checks that RSS growing with flat live bytes fails the RSS series and passes the live-bytes one
TEST_F(LeakGateTest, RssLeakWithFlatLiveBytesFailsTheRssSeries) {
  const auto id =
      make_run({{.name = "steady"}, {.name = "growing", .rss = [](double h) { return 512 * mib + 6 * mib * h; }}});
  const auto report = gate(id, {"leak_slope_bytes_per_hour < 1MiB", "rss_leak_slope_bytes_per_hour < 1MiB"});
  EXPECT_EQ(report.rows.at(0).status, gate_status::passed) << report.rows.at(0).detail;
  const auto& rss = report.rows.at(1);
  EXPECT_EQ(rss.status, gate_status::failed) << rss.detail;
  EXPECT_NEAR(rss.observed.value(), 6 * mib, 0.5 * mib) << rss.detail;
  // RSS is the process's: one series, not one per context.
  EXPECT_NE(rss.detail.find("worst: phase 1 'growing': +"), std::string::npos) << rss.detail;
  EXPECT_NE(rss.detail.find("of rss_bytes"), std::string::npos) << rss.detail;
}

// checks that GPU memory growing in one phase fails its series, and that a run whose samples carry
// no GPU memory (a driver without NVX_gpu_memory_info or ATI_meminfo) reads "not available", not a pass
TEST_F(LeakGateTest, GpuMemoryLeakFailsAndItsAbsenceIsNotAvailable) {
  test::stored_run_builder run(*store_, {.plan_name = "leak-test", .plan_text = "name: leak-test", .device = "0"});
  run.running();
  for (std::int64_t p = 0; p < 2; ++p) {
    run.phase(p == 0 ? "flat" : "growing");
    for (int i = 1; i <= 60; ++i) {
      const double h = i / 60.0;
      const double used = 4 * gib + (p == 1 ? 20 * mib * h : 0);
      run.sample({.t_seconds = (static_cast<double>(p) + h) * 3600,
                  .scenario = "leak_cycle",
                  .context = "gpu0",
                  .extra_json = fmt::format(R"({{"gpu_memory_used_bytes": {}}})", static_cast<std::uint64_t>(used)),
                  .phase = p});
    }
    run.end_phase(phase_state::passed);
  }
  const gate_row row =
      gate(run.finish(run_state::passed, "test").id(), {"gpu_memory_leak_slope_bytes_per_hour < 1MiB"}).rows.at(0);
  EXPECT_EQ(row.status, gate_status::failed) << row.detail;
  EXPECT_NEAR(row.observed.value(), 20 * mib, 0.1 * mib) << row.detail;
  EXPECT_NE(row.detail.find("worst: phase 1 'growing': +"), std::string::npos) << row.detail;

  const auto report = gate(make_run({{.name = "steady"}}), {"gpu_memory_leak_slope_bytes_per_hour < 1MiB"});
  EXPECT_EQ(report.rows.at(0).status, gate_status::no_data) << report.rows.at(0).detail;
  EXPECT_TRUE(report.rows.at(0).detail.starts_with("not available: ")) << report.rows.at(0).detail;
  EXPECT_EQ(report.exit_code(), exit_could_not_run);
}

// checks that seeded noise on flat series (live bytes and RSS, three short phases) raises no alarm
// over many seeds, while the same noise on a 2 MiB/h leak in one phase fails every time
TEST_F(LeakGateTest, NoiseOnFlatSeriesPassesAndALeakUnderItFails) {
  std::mt19937 seeds(20261207);
  for (int trial = 0; trial < 12; ++trial) {
    const unsigned seed = seeds();
    std::vector<phase_spec> flat{
        {.name = "a", .samples = 40}, {.name = "b", .samples = 40}, {.name = "c", .samples = 40}};
    const auto clean = gate(make_run(flat, {"gpu0"}, 256 * 1024, seed),
                            {"leak_slope_bytes_per_hour < 1MiB", "rss_leak_slope_bytes_per_hour < 1MiB"});
    for (const auto& row : clean.rows) {
      EXPECT_EQ(row.status, gate_status::passed) << "seed " << seed << ": " << row.threshold << ": " << row.detail;
    }
    flat[1].live = [](double h, const std::string&) { return 256 * mib + 4 * mib * h; };
    const auto leaking = gate(make_run(flat, {"gpu0"}, 256 * 1024, seed), {"leak_slope_bytes_per_hour < 1MiB"});
    EXPECT_EQ(leaking.rows.at(0).status, gate_status::failed) << "seed " << seed << ": " << leaking.rows.at(0).detail;
    EXPECT_NE(leaking.rows.at(0).detail.find("worst: phase 1 'b'"), std::string::npos) << leaking.rows.at(0).detail;
  }
}

// checks that a phase with too few samples after its warm-up is named as not judged, and that a
// run where no phase can be judged is not enough data, not a pass
TEST_F(LeakGateTest, PhasesTooShortToJudge) {
  const auto leak = [](double h, const std::string&) { return 256 * mib + 50 * mib * h; };
  const auto id = make_run({{.name = "long"}, {.name = "blip", .hours = 0.01, .samples = 2, .live = leak}});
  const gate_row row = gate(id, {"leak_slope_bytes_per_hour < 1MiB"}).rows.at(0);
  EXPECT_EQ(row.status, gate_status::passed) << row.detail;
  EXPECT_NE(row.detail.find("phase 1 'blip', context gpu0: 1 samples after its warm-up, too few to judge alone"),
            std::string::npos)
      << row.detail;

  const auto short_only = make_run({{.name = "x", .samples = 2, .live = leak}, {.name = "y", .samples = 1}});
  const auto report = gate(short_only, {"leak_slope_bytes_per_hour < 1MiB"});
  EXPECT_EQ(report.rows.at(0).status, gate_status::not_enough_data) << report.rows.at(0).detail;
  EXPECT_NE(report.rows.at(0).detail.find("no phase has 3 samples"), std::string::npos) << report.rows.at(0).detail;
  EXPECT_EQ(report.exit_code(), exit_could_not_run);
}

}  // namespace
}  // namespace gpusoak::harness
