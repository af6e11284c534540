// `gpusoak soak` end to end on real GL: the shipped smoke plan shrunk to 6 s into a temp run store,
// a plan whose threshold cannot hold, and bad flags.
#include <gtest/gtest.h>

#include <stdlib.h>
#include "temp_dir.hpp"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gpusoak/harness/commands.hpp"
#include "gpusoak/harness/run_store.hpp"
#include "gpusoak/scenarios/plan.hpp"

namespace gpusoak::harness {
namespace {

namespace fs = std::filesystem;

class soak_test : public ::testing::Test {
 protected:
  std::string db_path() const { return (dir_ / "runs.db").string(); }

  int cli(std::vector<std::string> args, std::string* out_text = nullptr, std::string* err_text = nullptr) {
    std::ostringstream out, err;
    const int code = run_cli(args, out, err);
    if (out_text) *out_text = out.str();
    if (err_text) *err_text = err.str();
    return code;
  }

  run_record only_run() {
    auto store = run_store::open(db_path());
    EXPECT_TRUE(store.has_value());
    auto runs = store->list_runs(10);
    EXPECT_TRUE(runs.has_value());
    EXPECT_EQ(runs->size(), 1u);
    return runs->empty() ? run_record{} : runs->front();
  }

  test::temp_dir dir_{"gpusoak-soak"};
};

// checks that the shipped smoke plan, shrunk to 6 s, passes and stores samples for every scenario
// and the gate's verdicts
TEST_F(soak_test, smoke_plan_passes_and_is_stored) {
  std::string out, err;
  const std::string junit = (dir_ / "gate.xml").string();
  ASSERT_EQ(cli({"soak", "smoke", "--time-scale", "0.05", "--db", db_path(), "--junit", junit}, &out, &err), 0)
      << out << err;
  EXPECT_NE(out.find("[1/4 warmup]"), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(junit));

  const run_record run = only_run();
  EXPECT_EQ(run.plan_name, "smoke");
  EXPECT_EQ(run.state, run_state::passed) << run.verdict_reason;
  EXPECT_DOUBLE_EQ(run.time_scale, 0.05);

  auto store = run_store::open(db_path());
  ASSERT_TRUE(store.has_value());
  auto samples = store->samples(run.id);
  ASSERT_TRUE(samples.has_value());
  std::set<std::string> sampled;
  for (const auto& s : *samples) sampled.insert(s.scenario);
  auto plan = scenarios::load_named_plan(GPUSOAK_PLANS_DIR, "smoke");
  ASSERT_TRUE(plan.has_value());
  for (const auto& phase : plan->phases) {
    for (const auto& entry : phase.scenarios) EXPECT_TRUE(sampled.contains(entry.name)) << entry.name;
  }
  auto verdicts = store->verdicts(run.id);
  ASSERT_TRUE(verdicts.has_value());
  EXPECT_EQ(verdicts->size(), plan->thresholds.size());
  for (const auto& v : *verdicts) EXPECT_TRUE(v.passed) << v.threshold;
  auto phases = store->phases(run.id);
  ASSERT_TRUE(phases.has_value());
  EXPECT_EQ(phases->size(), plan->phases.size());
}

// checks that a threshold no run can meet fails the soak with exit 1 and stores the run failed
TEST_F(soak_test, impossible_threshold_fails_the_run) {
  const fs::path plan_file = dir_ / "tight.yaml";
  std::ofstream(plan_file) << "name: tight\n"
                              "sample_interval: 200ms\n"
                              "phases:\n"
                              "  - name: steady\n"
                              "    duration: 1s\n"
                              "    scenarios:\n"
                              "      - name: conv2d_steady\n"
                              "        params: {shapes: [\"N1 C3 32x32 K16 3x3 p1\"], path: zero-copy}\n"
                              "thresholds:\n"
                              "  - \"p99(conv2d_latency_seconds) < 1us\"\n";
  std::string out, err;
  EXPECT_EQ(cli({"soak", "--plan-file", plan_file.string(), "--db", db_path()}, &out, &err), 1) << out << err;
  EXPECT_EQ(only_run().state, run_state::failed);
}

// checks that a bad --time-scale or an unknown plan is exit 2 with a message naming it
TEST_F(soak_test, bad_flags_could_not_run) {
  std::string err;
  EXPECT_EQ(cli({"soak", "smoke", "--time-scale", "0", "--db", db_path()}, nullptr, &err), 2);
  EXPECT_NE(err.find("--time-scale"), std::string::npos) << err;
  EXPECT_EQ(cli({"soak", "smoke", "--time-scale", "fast", "--db", db_path()}, nullptr, &err), 2);
  EXPECT_NE(err.find("--time-scale"), std::string::npos) << err;
  EXPECT_EQ(cli({"soak", "no_such_plan", "--db", db_path()}, nullptr, &err), 2);
  EXPECT_NE(err.find("no_such_plan"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(db_path()));  // nothing was run
}

}  // namespace
}  // namespace gpusoak::harness
