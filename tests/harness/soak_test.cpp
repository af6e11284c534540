// `gpusoak soak` end to end on real GL: the shipped smoke plan shrunk to 6 s into a temp run store,
// a plan whose threshold cannot hold, and bad flags.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <stdlib.h>
#include "temp_dir.hpp"

#include <algorithm>
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
