// `gpusoak soak` end to end on real GL: the shipped smoke plan shrunk to 6 s into a temp run store,
// a plan whose threshold cannot hold, and bad flags.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <stdlib.h>
#include "cli_in_process.hpp"
#include "temp_dir.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gl_fixture.hpp"
#include "gpusoak/buffers/strategy.hpp"
#include "gpusoak/harness/build_info.hpp"
#include "gpusoak/harness/commands.hpp"
#include "gpusoak/harness/run_store.hpp"
#include "gpusoak/harness/sha256.hpp"
#include "gpusoak/scenarios/plan.hpp"

namespace gpusoak::harness {
namespace {

using test::cli;

namespace fs = std::filesystem;

class soak_test : public ::testing::Test {
 protected:
  std::string db_path() const { return (dir_ / "runs.db").string(); }

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
                              // p50 needs 10 ops: a second of conv2d has them even on a loaded machine
                              "  - \"p50(conv2d_latency_seconds) < 1us\"\n";
  std::string out, err;
  EXPECT_EQ(cli({"soak", "--plan-file", plan_file.string(), "--db", db_path()}, &out, &err), 1) << out << err;
  EXPECT_EQ(only_run().state, run_state::failed);
}

// checks that an in-process soak under --disable coherent records what it ran: the mask, the
// decision matrix's strategy per usage under that mask (as a context with the same mask chooses
// it here), the scenario's reported strategy, the renderer and driver, this build, the plan's
// hash; and that the report shows them
TEST_F(soak_test, a_soak_records_what_it_ran) {
  const fs::path plan_file = dir_ / "short.yaml";
  const std::string plan_text =
      "name: short\n"
      "sample_interval: 200ms\n"
      "phases:\n"
      "  - name: steady\n"
      "    duration: 1s\n"
      "    scenarios:\n"
      "      - name: conv2d_steady\n"
      "        params: {shapes: [\"N1 C3 32x32 K16 3x3 p1\"], path: zero-copy}\n"
      "thresholds:\n"
      "  - \"integrity_failures_total == 0\"\n";
  std::ofstream(plan_file) << plan_text;
  std::string out, err;
  ASSERT_EQ(cli({"soak", "--plan-file", plan_file.string(), "--db", db_path(), "--disable", "coherent"}, &out, &err), 0)
      << out << err;
  const auto p = only_run().provenance;

  gpu::capability_mask mask;
  mask.coherent = true;
  auto ctx = test::make_context({.debug_output = false, .mask = mask});
  ASSERT_NE(ctx, nullptr);
  const auto& caps = ctx->caps();
  EXPECT_EQ(p.mask, "coherent");
  EXPECT_EQ(p.gl_renderer, caps.renderer);
  EXPECT_EQ(p.gl_version, caps.version);
  EXPECT_EQ(p.gl_vendor, caps.vendor);
  EXPECT_EQ(p.vendor_class, gpu::to_string(caps.vendor_kind));
  EXPECT_EQ(p.gpusoak_version, gpusoak_version());
  EXPECT_EQ(p.gpusoak_commit, gpusoak_commit());
  EXPECT_EQ(p.plan_sha256, sha256_hex(plan_text));
  std::vector<strategy_record> usages, scenario;
  for (const auto& s : p.strategies) (s.subject == strategy_subject::usage ? usages : scenario).push_back(s);
  ASSERT_EQ(usages.size(), gpu::all_usages.size());
  for (std::size_t i = 0; i < usages.size(); ++i) {
    EXPECT_EQ(usages[i].name, gpu::to_string(gpu::all_usages[i]));
    EXPECT_EQ(usages[i].strategy, gpu::to_string(gpu::choose_strategy(caps, gpu::all_usages[i]))) << usages[i].name;
    EXPECT_NE(usages[i].strategy, "persistent_coherent") << "masked, yet chosen";
  }
  ASSERT_FALSE(scenario.empty());
  for (const auto& s : scenario) {
    EXPECT_EQ(s.name, "conv2d_steady");
    EXPECT_TRUE(gpu::parse_strategy(s.strategy).has_value()) << s.strategy;
    EXPECT_NE(s.strategy, "persistent_coherent") << "masked, yet used";
  }

  ASSERT_EQ(cli({"report", only_run().id, "--db", db_path()}, &out, &err), 0) << err;
  EXPECT_NE(out.find("mask          coherent"), std::string::npos) << out;
  EXPECT_NE(out.find("renderer      " + caps.renderer), std::string::npos) << out;
  EXPECT_NE(out.find("conv2d_steady " + scenario.front().strategy), std::string::npos) << out;
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

// checks that a 24-hour plan with two typos in its last phase is exit 2 at once, naming both with
// their lines and field paths, before anything runs or is stored
TEST_F(soak_test, plan_with_typos_in_its_last_phase_is_exit_2_before_anything_runs) {
  const auto plan_file = dir_ / "typos.yaml";
  std::ofstream(plan_file) << R"(name: typos
sample_interval: 15s
phases:
  - name: warmup
    duration: 12h
    scenarios:
      - name: conv2d_steady
  - name: churn
    duration: 12h
    scenarios:
      - name: leak_cycle
      - name: fragmentation
        params: {pool_chunk: 64MiB, max_blok: 1MiB}
      - name: memory_pressure
        params:
          hold_percent: 1000000000
)";
  std::string out, err;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(cli({"soak", "--plan-file", plan_file.string(), "--db", db_path()}, &out, &err), 2) << out << err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5)) << "nothing ran";
  EXPECT_NE(err.find("2 problems:"), std::string::npos) << err;
  EXPECT_NE(err.find("typos.yaml:13: phases[1].scenarios[1].params.max_blok: unknown parameter; allowed: pool_chunk, "
                     "max_block, max_chunks"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("typos.yaml:16: phases[1].scenarios[2].params.hold_percent: '1000000000' is not allowed; use a "
                     "whole number from 1 to 95"),
            std::string::npos)
      << err;
  EXPECT_EQ(out.find("gpusoak soak: plan"), std::string::npos) << "the run did not start: " << out;
  EXPECT_FALSE(fs::exists(db_path())) << "nothing was stored";
}

// checks that a time scale that makes the plan too long or too short to gate, and a device that is
// not present, are exit 2 naming the bound, before anything is stored
TEST_F(soak_test, run_bounds_are_exit_2_before_anything_runs) {
  struct bad_run {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::vector<bad_run> table{
      {{"soak", "smoke", "--time-scale", "1e7"}, "makes the plan last 333333h"},
      {{"soak", "smoke", "--time-scale", "1e-300"}, "use a time scale >= 0.015"},
      {{"soak", "smoke", "--time-scale", "0.01"}, "lasts 200ms at time scale 0.01; each scenario needs at least 3"},
      {{"soak", "smoke", "--device", "4096"}, "--device 4096: EGL device 4096 is not present"},
  };
  for (const auto& bad : table) {
    auto args = bad.args;
    args.insert(args.end(), {"--db", db_path()});
    std::string out, err;
    EXPECT_EQ(cli(args, &out, &err), 2) << bad.args[3] << ": " << out << err;
    EXPECT_NE(err.find(bad.expected), std::string::npos) << err;
  }
  const auto plan_file = dir_ / "devices.yaml";
  std::ofstream(plan_file) << "name: d\ndevices: [0, 200]\nsample_interval: 100ms\n"
                              "phases: [{name: a, duration: 1s, scenarios: [{name: oom}]}]\n";
  std::string err;
  EXPECT_EQ(cli({"soak", "--plan-file", plan_file.string(), "--db", db_path()}, nullptr, &err), 2);
  EXPECT_NE(err.find("devices[1]: EGL device 200 is not present;"), std::string::npos) << err;
  EXPECT_NE(err.find("gpusoak devices lists them"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(db_path())) << "nothing was stored";
}

// checks that a bad --disable is exit 2 naming the flag, the bad token and the allowed ones, and
// not GPUSOAK_DISABLE; the same text from GPUSOAK_DISABLE names the variable instead
TEST_F(soak_test, bad_mask_names_where_it_came_from) {
  ASSERT_EQ(unsetenv("GPUSOAK_DISABLE"), 0);
  std::string err;
  EXPECT_EQ(cli({"soak", "smoke", "--disable", "coherant", "--db", db_path()}, nullptr, &err), 2);
  EXPECT_NE(err.find("--disable: unknown capability 'coherant'"), std::string::npos) << err;
  EXPECT_NE(err.find("buffer_storage, coherent, pinned"), std::string::npos) << err;
  EXPECT_EQ(err.find("GPUSOAK_DISABLE"), std::string::npos) << err;
  ASSERT_EQ(setenv("GPUSOAK_DISABLE", "coherant", 1), 0);
  EXPECT_EQ(cli({"soak", "smoke", "--db", db_path()}, nullptr, &err), 2);
  ASSERT_EQ(unsetenv("GPUSOAK_DISABLE"), 0);
  EXPECT_NE(err.find("GPUSOAK_DISABLE: unknown capability 'coherant'"), std::string::npos) << err;
  EXPECT_EQ(err.find("--disable"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(db_path()));  // nothing was run
}

// A mask for the whole run and what the decision matrix picks on llvmpipe under it for the
// conv2d input (stream_to_gpu) and for bidirectional buffers.
struct smoke_mask {
  const char* name;
  const char* disable;  // --disable's value
  const char* streamed;
  const char* both_ways;
  friend void PrintTo(const smoke_mask& m, std::ostream* os) { *os << m.name; }
};

class smoke_under_mask : public soak_test, public ::testing::WithParamInterface<smoke_mask> {};

// checks that the shipped smoke plan, unchanged and shrunk to 6 s, passes under the mask (every
// scenario on the matrix's choice: zero-copy where allowed, staging_copy otherwise), and that its
// output and stored events name that strategy for each scenario, the ones that make their own
// contexts included, and never the strategy the mask rules out
TEST_P(smoke_under_mask, passes_and_names_the_strategies) {
  const smoke_mask& m = GetParam();
  std::string out, err;
  // A 256 MiB budget: memory_pressure holds half of it, and filling half of llvmpipe's 2 GiB
  // default with patterns takes most of a 2-core CI machine's time without testing more.
  ASSERT_EQ(
      cli({"soak", "smoke", "--time-scale", "0.05", "--db", db_path(), "--budget", "256MiB", "--disable", m.disable},
          &out, &err),
      0)
      << out << err;
  const run_record run = only_run();
  EXPECT_EQ(run.state, run_state::passed) << run.verdict_reason;
  EXPECT_NE(out.find(fmt::format("run {}: passed", run.id)), std::string::npos) << out;

  auto store = run_store::open(db_path());
  ASSERT_TRUE(store.has_value());
  auto events = store->events(run.id);
  ASSERT_TRUE(events.has_value());
  const auto stored = [&](const std::string& scenario, const std::string& message) {
    return std::ranges::any_of(
        *events, [&](const event& e) { return e.level == "info" && e.scenario == scenario && e.message == message; });
  };
  const std::vector<std::pair<std::string, std::string>> expected{
      {"conv2d_steady", fmt::format("strategy {} (stream_to_gpu)", m.streamed)},
      {"memory_pressure", fmt::format("strategy {} (stream_to_gpu)", m.streamed)},
      {"memory_pressure", fmt::format("strategy {} (bidirectional)", m.both_ways)},
      {"multi_context", fmt::format("strategy {} (stream_to_gpu)", m.streamed)},
      {"leak_cycle", fmt::format("strategy {} (bidirectional)", m.both_ways)},
      {"fragmentation", fmt::format("strategy {} (bidirectional)", m.both_ways)},
      {"oom", fmt::format("strategy {} (bidirectional)", m.both_ways)},
  };
  for (const auto& [scenario, placement] : expected) {
    const std::string message = scenario + ": " + placement;
    EXPECT_NE(out.find(message + "\n"), std::string::npos) << message << "\n" << out;
    EXPECT_TRUE(stored(scenario, message)) << message;
  }
  // One placement per usage for the whole run: a context that missed the mask would add another.
  for (const char* use : {"(stream_to_gpu)", "(bidirectional)"}) {
    std::set<std::string> strategies;
    for (const auto& e : *events) {
      if (e.level == "info" && e.message.ends_with(use)) strategies.insert(e.message.substr(e.message.find(": ")));
    }
    EXPECT_EQ(strategies.size(), 1u) << use << "\n" << out;
  }
}

INSTANTIATE_TEST_SUITE_P(
    masks, smoke_under_mask,
    ::testing::Values(smoke_mask{"none", "", "persistent_coherent", "persistent_coherent"},
                      smoke_mask{"coherent", "coherent", "persistent_flush", "persistent_flush"},
                      smoke_mask{"buffer_storage", "buffer_storage", "staging_copy", "staging_copy"},
                      smoke_mask{"all", "buffer_storage,coherent,pinned", "staging_copy", "staging_copy"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace gpusoak::harness
