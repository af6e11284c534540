// The shipped plans (scenarios/plans) run time-scaled on this machine's GL (llvmpipe in CI) and
// gated with their own thresholds: every threshold must see data. A latency bound meant for a real
// GPU may fail on a software rasterizer; "no data" may not, because it means the sampler never
// stores what the threshold names and the gate could never pass.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ostream>
#include <string>

#include "gpusoak/harness/gate.hpp"
#include "gpusoak/harness/run_store.hpp"
#include "gpusoak/harness/soak_runner.hpp"
#include "gpusoak/scenarios/plan.hpp"
#include "temp_dir.hpp"

namespace gpusoak::harness {
namespace {

struct shipped_plan {
  const char* name;
  double time_scale;  // short, but every phase keeps at least 3 samples of each of its scenarios
};

// For gtest's test names and messages.
void PrintTo(const shipped_plan& p, std::ostream* out) {
  *out << p.name << " at --time-scale " << p.time_scale;
}

class shipped_plans_test : public ::testing::TestWithParam<shipped_plan> {
 protected:
  test::temp_dir dir_{"gpusoak-shipped"};
};

// checks that a shipped plan, time-scaled with at least 3 sample ticks per phase, loads, runs,
// samples every scenario, and gates every one of its thresholds with data (no "no data" row)
TEST_P(shipped_plans_test, gates_every_threshold_with_data) {
  const auto [name, time_scale] = GetParam();
  const auto loaded = scenarios::load_named_plan(GPUSOAK_PLANS_DIR, name);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  const auto plan = loaded->scaled(time_scale);
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  auto store = run_store::open((dir_ / "runs.db").string());
  ASSERT_TRUE(store.has_value()) << store.error().message;

  soak_options options;
  options.context.name = name;
  options.time_scale = time_scale;
  const auto start = std::chrono::steady_clock::now();
  const auto outcome = run_soak(*plan, name, *store, options);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  ASSERT_TRUE(outcome->report.has_value()) << outcome->reason;
  const auto& report = *outcome->report;
  std::printf("%s at --time-scale %g: %.1f s wall, run %s\n%s", name, time_scale, wall,
              std::string(to_string(outcome->state)).c_str(), format_gate_table(report).c_str());
  ASSERT_EQ(report.rows.size(), plan->thresholds.size());
  for (const auto& row : report.rows) {
    EXPECT_NE(row.status, gate_status::no_data) << name << ": " << row.threshold << ": " << row.detail;
  }

  // The scale keeps at least 3 sample ticks in every phase (the interval scales too, but not below
  // min(its value, 100ms)); a step longer than a tick on a loaded machine may still skip some.
  for (const auto& ph : plan->phases) EXPECT_GE(ph.duration, 3 * plan->sample_interval) << name << " phase " << ph.name;
  // Every scenario of the plan was sampled.
  const auto samples = store->samples(outcome->run_id);
  ASSERT_TRUE(samples.has_value()) << samples.error().message;
  for (const auto& ph : plan->phases) {
    for (const auto& entry : ph.scenarios) {
      EXPECT_TRUE(std::ranges::any_of(*samples, [&](const sample& s) { return s.scenario == entry.name; }))
          << name << ": " << entry.name;
    }
  }
}

// Smoke lasts 2 min, nightly 1 h, release 24 h: each scaled to about 6 to 17 s.
INSTANTIATE_TEST_SUITE_P(plans, shipped_plans_test,
                         ::testing::Values(shipped_plan{"smoke", 0.05}, shipped_plan{"nightly", 0.002},
                                           shipped_plan{"release", 0.0002}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace gpusoak::harness
