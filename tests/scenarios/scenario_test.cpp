// The scenario library on real GL (Mesa llvmpipe through EGL in CI): each scenario's pass path,
// its param validation, and a planted failure that its checks must catch.
#include "gpusoak/scenarios/scenario.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "gl_fixture.hpp"
#include "gpusoak/scenarios/pattern.hpp"

namespace gpusoak::scenarios {
namespace {

using namespace std::chrono_literals;

param_value scalar(std::string text, int line = 7) {
  return {.items = {std::move(text)}, .is_list = false, .line = line};
}
param_value list(std::vector<std::string> items, int line = 9) {
  return {.items = std::move(items), .is_list = true, .line = line};
}

std::uint64_t seed() {
  static const std::uint64_t s = std::random_device{}();
  return s;
}

std::string failures_text(const step_result& r) {
  std::string text;
  for (const auto& f : r.failures) text += "  " + f + "\n";
  return text;
}

std::unique_ptr<scenario> make(std::string_view name, const scenario_params& params = {}) {
  auto made = make_scenario(name, params, seed());
  EXPECT_TRUE(made.has_value()) << (made ? "" : made.error().message);
  return made ? std::move(*made) : nullptr;
}

run_summary run(scenario& s, gpu::context& ctx, std::chrono::nanoseconds duration) {
  auto summary = run_for(s, ctx, duration);
  EXPECT_TRUE(summary.has_value()) << (summary ? "" : summary.error().message);
  if (!summary) return {};
  EXPECT_FALSE(summary->total.failed()) << "seed " << seed() << "\n" << failures_text(summary->total);
  EXPECT_GT(summary->total.iterations, 0u);
  EXPECT_GT(summary->steps, 0u);
  std::printf("[ summary  ] %s: %llu steps, %llu iterations in %.2fs, p50 %.6fs p99 %.6fs max %.6fs\n",
              std::string(s.name()).c_str(), static_cast<unsigned long long>(summary->steps),
              static_cast<unsigned long long>(summary->total.iterations), summary->seconds,
              summary->total.latency.quantile(0.5), summary->total.latency.quantile(0.99),
              summary->total.latency.max_seconds);
  return *summary;
}

// Setup, one clean step, the fault, `steps` more steps, teardown: the merged result.
step_result run_with_fault(scenario& s, gpu::context& ctx, fault f, int steps) {
  step_result total;
  auto set = s.setup(ctx);
  EXPECT_TRUE(set.has_value()) << (set ? "" : set.error().message);
  if (!set) return total;
  const step_result clean = s.step(ctx);
  EXPECT_FALSE(clean.failed()) << failures_text(clean);
  // A fault needs something to hit: a random step can leave nothing live (fragmentation frees
  // every block now and then), so clean steps go on until the fault lands, a bounded number.
  bool injected = s.inject(f);
  for (int tries = 0; !injected && tries < 20; ++tries) {
    const step_result more = s.step(ctx);
    EXPECT_FALSE(more.failed()) << failures_text(more);
    injected = s.inject(f);
  }
  EXPECT_TRUE(injected);
  for (int i = 0; i < steps; ++i) total.merge(s.step(ctx));
  total.merge(s.teardown(ctx));
  return total;
}

// checks that the histogram puts values in their 1us..1s buckets (for /metrics) and reads
// quantiles from its log histogram, within 1% of the values, not as bucket bounds
TEST(LatencyHistogram, BucketsAndQuantiles) {
  latency_histogram h;
  for (int i = 0; i < 99; ++i) h.add(3e-6);
  h.add(2.5);
  EXPECT_EQ(h.count, 100u);
  EXPECT_EQ(h.fine.count(), 100u);
  EXPECT_EQ(h.buckets[2], 99u);  // (2us, 5us]
  EXPECT_EQ(h.buckets.back(), 1u);
  EXPECT_NEAR(h.quantile(0.5), 3e-6, 3e-6 * log_histogram::relative_accuracy);
  EXPECT_NEAR(h.quantile(1.0), 2.5, 2.5 * log_histogram::relative_accuracy);
  EXPECT_LE(h.quantile(1.0), 2.5);  // never above the largest value
  latency_histogram other;
  other.add(1e-3);
  h.merge(other);
  EXPECT_EQ(h.count, 101u);
  EXPECT_EQ(h.fine.count(), 101u);
}

// checks that the pattern verifier accepts its own pattern and reports one scribbled byte with its offset
TEST(Pattern, VerifierFindsAScribbledByte) {
  std::vector<std::byte> bytes(4099);
  fill_pattern(bytes, 42);
  EXPECT_FALSE(verify_pattern(bytes, 42).has_value());
  EXPECT_TRUE(verify_pattern(bytes, 43).has_value());  // another seed's pattern differs
  bytes[4097] ^= std::byte{1};
  const auto bad = verify_pattern(bytes, 42);
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->offset, 4097u);
  EXPECT_EQ(bad->bad_bytes, 1u);
  EXPECT_NE(bad->describe().find("offset 4097"), std::string::npos);
}

// checks that an unknown scenario is refused with the list of known ones
TEST(MakeScenario, UnknownScenarioListsKnownOnes) {
  const auto made = make_scenario("burn", {}, 1);
  ASSERT_FALSE(made.has_value());
  EXPECT_NE(made.error().message.find("conv2d_steady"), std::string::npos) << made.error().message;
}

// checks that an unknown param is refused naming it, its line and the allowed params
TEST(MakeScenario, UnknownParamNamesLineAndAllowed) {
  const auto made = make_scenario("fragmentation", {{"pool_chnk", scalar("1MiB", 12)}}, 1);
  ASSERT_FALSE(made.has_value());
  const std::string& m = made.error().message;
  EXPECT_EQ(made.error().kind, gpusoak::error_kind::validation);
  EXPECT_NE(m.find("line 12"), std::string::npos) << m;
  EXPECT_NE(m.find("pool_chnk"), std::string::npos) << m;
  EXPECT_NE(m.find("pool_chunk, max_block"), std::string::npos) << m;
}

// checks that bad values are refused naming the param, its line and what is allowed
TEST(MakeScenario, BadValuesNameParamAndLine) {
  struct bad_case {
    std::string_view scenario;
    std::string param;
    param_value value;
    std::string_view expect;
  };
  const std::vector<bad_case> cases{
      {"conv2d_steady", "path", scalar("zero_copy", 3), "one of zero-copy, staging"},
      {"conv2d_steady", "shapes", list({"N1 C3 32x32 K16 3x3", "N1 C3 banana"}, 4), "banana"},
      {"oom", "step", scalar("-5MiB", 5), "byte size"},
      {"oom", "budget", list({"1MiB", "2MiB"}, 6), "byte size"},
      {"leak_cycle", "buffers_per_cycle", scalar("0", 8), "whole number from 1"},
      {"memory_pressure", "hold_percent", scalar("99", 10), "from 1 to 95"},
      {"memory_pressure", "latency_bound", scalar("5", 11), "duration"},
      {"multi_context", "contexts", scalar("two", 13), "whole number"},
      {"fragmentation", "max_block", scalar("2MiB", 14), "byte size"},  // over the 1 MiB chunk
  };
  for (const auto& c : cases) {
    const auto made = make_scenario(c.scenario, {{c.param, c.value}}, 1);
    ASSERT_FALSE(made.has_value()) << c.scenario << "." << c.param;
    const std::string& m = made.error().message;
    EXPECT_NE(m.find("line " + std::to_string(c.value.line) + ":"), std::string::npos) << m;
    EXPECT_NE(m.find(c.param), std::string::npos) << m;
    EXPECT_NE(m.find(c.expect), std::string::npos) << m;
  }
}

// checks that check_scenario_params (no GL context) finds exactly what make_scenario refuses, every
// problem of an entry at once, on random mixes of good and bad params
TEST(MakeScenario, CheckParamsAgreesWithMakeAndListsEveryProblem) {
  struct candidate {
    std::string_view scenario, param;
    param_value value;
    bool good;
  };
  const std::vector<candidate> pool{
      {"fragmentation", "pool_chunk", scalar("8MiB"), true},
      {"fragmentation", "pool_chunk", scalar("8MB"), false},
      {"fragmentation", "max_blok", scalar("1MiB"), false},
      {"fragmentation", "max_chunks", scalar("300"), false},
      {"fragmentation", "max_chunks", scalar("8"), true},
      {"memory_pressure", "hold_percent", scalar("1000000000"), false},
      {"memory_pressure", "hold_percent", scalar("80"), true},
      {"memory_pressure", "shapes", list({"N99999 C99999 8x8 K8 3x3"}), false},
      {"memory_pressure", "latency_bound", scalar("250ms"), true},
      {"multi_context", "contexts", scalar("100000"), false},
      {"multi_context", "contexts", scalar("4"), true},
      {"multi_context", "shapes", list({"N1 C4 12x12 K8 3x3 p1"}), true},
      {"multi_context", "shape", list({"N1 C4 12x12 K8 3x3 p1"}), false},
      {"leak_cycle", "buffers_per_cycle", list({"1", "2"}), false},
      {"leak_cycle", "contexts_per_cycle", scalar("2"), true},
      {"oom", "budget", scalar("1TiB"), false},
      {"oom", "step", scalar("8MiB"), true},
      {"conv2d_steady", "path", scalar("staging"), true},
      {"conv2d_steady", "allow_copies", scalar("yes"), false},
      {"conv2d_steady", "fence_timeout", scalar("2h"), false},
  };
  std::mt19937 rng(static_cast<std::mt19937::result_type>(seed()));
  for (int round = 0; round < 300; ++round) {
    const auto& first = pool[std::uniform_int_distribution<std::size_t>(0, pool.size() - 1)(rng)];
    scenario_params params;
    std::size_t bad = 0;
    for (const auto& c : pool) {
      if (c.scenario != first.scenario || std::uniform_int_distribution(0, 1)(rng) == 0) continue;
      if (params.emplace(std::string(c.param), c.value).second) bad += c.good ? 0 : 1;
    }
    const auto problems = check_scenario_params(first.scenario, params);
    EXPECT_EQ(problems.size(), bad) << first.scenario << " seed " << seed();
    const auto made = make_scenario(first.scenario, params, 1);
    EXPECT_EQ(made.has_value(), problems.empty()) << first.scenario;
    if (made) continue;
    for (const auto& p : problems) {
      EXPECT_NE(made.error().message.find(fmt::format("{}.params.{}: {}", first.scenario, p.param, p.what)),
                std::string::npos)
          << made.error().message;
    }
  }
  const auto unknown = check_scenario_params("burn", {});
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_NE(unknown[0].what.find("unknown scenario 'burn'"), std::string::npos) << unknown[0].what;
}

// checks that every scenario builds with its defaults
TEST(MakeScenario, DefaultsAreValid) {
  for (const auto name : {"conv2d_steady", "fragmentation", "oom", "leak_cycle", "memory_pressure", "multi_context"}) {
    const auto made = make_scenario(name, {}, 1);
    ASSERT_TRUE(made.has_value()) << name << ": " << made.error().message;
    EXPECT_EQ((*made)->name(), name);
    EXPECT_EQ((*made)->seed(), 1u);
  }
}

// checks that every scenario entry of the shipped plans (smoke, nightly, release) builds with its params
TEST(MakeScenario, ShippedPlansBuild) {
  for (const auto* plan_name : {"smoke", "nightly", "release"}) {
    const auto plan = load_named_plan(GPUSOAK_PLANS_DIR, plan_name);
    ASSERT_TRUE(plan.has_value()) << plan.error().message;
    for (const auto& ph : plan->phases) {
      for (const auto& entry : ph.scenarios) {
        const auto made = make_scenario(entry.name, entry.params, 1);
        EXPECT_TRUE(made.has_value()) << plan_name << ": " << (made ? "" : made.error().message);
      }
    }
  }
}

// checks that conv2d_steady on the zero-copy path runs checked batches with no hot-path copy
TEST(Conv2dSteady, ZeroCopyPassesWithNoCopies) {
  auto ctx = test::make_context();
  ASSERT_TRUE(ctx);
  auto s = make("conv2d_steady", {{"shapes", list({"N1 C3 16x16 K8 3x3 p1", "N2 C8 8x8 K8 1x1 bias"})}});
  ASSERT_TRUE(s);
  const auto summary = run(*s, *ctx, 1s);
  EXPECT_EQ(summary.total.hot_path_copies, 0u);
  EXPECT_EQ(summary.total.latency.count, summary.total.iterations);
}

// checks that conv2d_steady on the staging path passes: its uploads and readbacks are counted by
// the context under their copy paths, one of each per batch, and none is a hot-path copy
TEST(Conv2dSteady, StagingCopiesAreCountedByPathNotAsHot) {
  auto ctx = test::make_context();
  ASSERT_TRUE(ctx);
  auto s = make("conv2d_steady", {{"path", scalar("staging")}, {"shapes", list({"N1 C3 8x8 K4 3x3 p1"})}});
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->setup(*ctx).has_value());
  const gpu::counters_snapshot before = ctx->counters().snapshot();
  const step_result r = s->step(*ctx);
  const gpu::counters_snapshot after = ctx->counters().snapshot();
  (void)s->teardown(*ctx);
  EXPECT_FALSE(r.failed()) << failures_text(r);
  EXPECT_EQ(r.hot_path_copies, 0u);
  ASSERT_EQ(r.iterations, 1u);
  const auto delta = [&](gpu::copy_path p) {
    return after.copies[static_cast<std::size_t>(p)] - before.copies[static_cast<std::size_t>(p)];
  };
  EXPECT_EQ(delta(gpu::copy_path::staging_upload), 2u);  // the NaN poison and the batch's input
  EXPECT_EQ(delta(gpu::copy_path::readback_copy), 1u);
  EXPECT_EQ(r.strategy, gpu::strategy::staging_copy);
}

// checks that a copy planted on the zero-copy path (each input copied in instead of written in
// place) is caught: counted as hot-path copies and a failed step naming the path
TEST(Conv2dSteady, PlantedCopyOnTheZeroCopyPathIsAFailure) {
  auto ctx = test::make_context();
  ASSERT_TRUE(ctx);
  auto s = make("conv2d_steady", {{"shapes", list({"N1 C3 8x8 K4 3x3 p1"})}});
  ASSERT_TRUE(s);
  const step_result r = run_with_fault(*s, *ctx, fault::hot_copy, 2);
  EXPECT_EQ(r.hot_path_copies, 2u);  // one input copy per batch
  ASSERT_TRUE(r.failed());
  EXPECT_NE(r.failures.front().find("hot-path copies on the zero-copy path"), std::string::npos) << failures_text(r);
  EXPECT_EQ(r.integrity_failures, 0u);  // the copied inputs still give right results
}

// The masks every scenario must run under, with what the decision matrix picks for a streamed
// input and for bidirectional buffers on llvmpipe under each.
struct mask_case {
  const char* name;
  gpu::capability_mask mask;
  gpu::strategy streamed;
  gpu::strategy both_ways;
  friend void PrintTo(const mask_case& c, std::ostream* os) { *os << c.name; }
};

class UnderMask : public ::testing::TestWithParam<mask_case> {
 protected:
  // Runs `name` briefly on a context with the case's mask: it must pass with no hot-path copy, and
  // every placement it reports is one of `allowed` for its usage.
  void runs_on_fallback(std::string_view name, const scenario_params& params, gpu::context_options options = {}) {
    options.mask = GetParam().mask;
    auto ctx = test::make_context(options);
    ASSERT_TRUE(ctx);
    auto s = make(name, params);
    ASSERT_TRUE(s);
    const auto summary = run(*s, *ctx, 300ms);
    EXPECT_EQ(summary.total.hot_path_copies, 0u);
    ASSERT_FALSE(s->strategies().empty());
    for (const strategy_use& u : s->strategies()) {
      SCOPED_TRACE(std::string(gpu::to_string(u.use)) + " -> " + std::string(gpu::to_string(u.strategy)));
      // What the matrix picks on this context; a scenario's own contexts must pick the same.
      const auto name = [](gpu::strategy s) { return std::string(gpu::to_string(s)); };
      EXPECT_EQ(name(u.strategy), name(gpu::choose_strategy(ctx->caps(), u.use)));
      if (u.use == gpu::usage::stream_to_gpu) {
        EXPECT_EQ(name(u.strategy), name(GetParam().streamed));
      }
      if (u.use == gpu::usage::bidirectional) {
        EXPECT_EQ(name(u.strategy), name(GetParam().both_ways));
      }
    }
  }
};

// checks that conv2d_steady with the shipped `path: zero-copy` runs under the mask, on zero-copy
// where the matrix allows it and on its staging fallback otherwise
TEST_P(UnderMask, Conv2dSteadyRunsOnTheMatrixChoice) {
  runs_on_fallback("conv2d_steady", {{"shapes", list({"N1 C3 8x8 K4 3x3 p1"})}, {"path", scalar("zero-copy")}});
}

// checks that memory_pressure (conv2d and held buffers) runs under the mask
TEST_P(UnderMask, MemoryPressureRunsOnTheMatrixChoice) {
  runs_on_fallback("memory_pressure", {{"hold_percent", scalar("25")}, {"shapes", list({"N1 C3 8x8 K4 3x3 p1"})}},
                   {.budget_bytes = 32ull << 20});
}

// checks that multi_context's own contexts get the mask of the context it is set up on: the
// strategies its worker contexts report are the masked matrix's, not the unmasked one's
TEST_P(UnderMask, MultiContextWorkersInheritTheMask) {
  runs_on_fallback("multi_context", {{"contexts", scalar("2")}, {"shapes", list({"N1 C3 8x8 K4 3x3 p1"})}});
}

// checks that leak_cycle's churn contexts get the mask too (their buffers' placements are
// reported with the worker context's)
TEST_P(UnderMask, LeakCycleContextsInheritTheMask) {
  runs_on_fallback("leak_cycle", {{"buffers_per_cycle", scalar("4")}, {"contexts_per_cycle", scalar("1")}});
}

// checks that fragmentation and oom run under the mask on the matrix's bidirectional choice
TEST_P(UnderMask, PoolAndOomRunOnTheMatrixChoice) {
  runs_on_fallback("fragmentation", {{"pool_chunk", scalar("1MiB")}, {"max_block", scalar("64KiB")}});
  runs_on_fallback("oom", {{"step", scalar("4MiB")}, {"budget", scalar("32MiB")}});
}

INSTANTIATE_TEST_SUITE_P(
    Masks, UnderMask,
    ::testing::Values(
        mask_case{"none", {}, gpu::strategy::persistent_coherent, gpu::strategy::persistent_coherent},
        mask_case{"coherent", {.coherent = true}, gpu::strategy::persistent_flush, gpu::strategy::persistent_flush},
        mask_case{"buffer_storage", {.buffer_storage = true}, gpu::strategy::staging_copy, gpu::strategy::staging_copy},
        mask_case{"all",
                  {.buffer_storage = true, .coherent = true, .pinned = true},
                  gpu::strategy::staging_copy,
                  gpu::strategy::staging_copy}),
    [](const auto& info) { return std::string(info.param.name); });

// checks that fragmentation churns the pool with every block verified and reports a fragmentation ratio
TEST(Fragmentation, PassesAndReportsRatio) {
  auto ctx = test::make_context();
  ASSERT_TRUE(ctx);
  auto s = make("fragmentation", {{"pool_chunk", scalar("1MiB")}, {"max_block", scalar("64KiB")}});
  ASSERT_TRUE(s);
  const auto summary = run(*s, *ctx, 1s);
  ASSERT_TRUE(summary.total.fragmentation.has_value());
  EXPECT_GE(*summary.total.fragmentation, 0.0);
  EXPECT_LE(*summary.total.fragmentation, 1.0);
  EXPECT_EQ(ctx->live_buffer_count(), 0u);
}

// checks that a byte flipped in a live pool block is caught as an integrity failure
TEST(Fragmentation, CorruptedBlockIsAnIntegrityFailure) {
  auto ctx = test::make_context();
  ASSERT_TRUE(ctx);
  auto s = make("fragmentation");
  ASSERT_TRUE(s);
  const step_result r = run_with_fault(*s, *ctx, fault::corrupt_pattern, 8);
  EXPECT_GE(r.integrity_failures, 1u);
  ASSERT_TRUE(r.failed());
  EXPECT_NE(r.failures.front().find("pattern mismatch"), std::string::npos) << r.failures.front();
}

// checks that oom hits a clean out_of_memory, releases, recovers and comes back to baseline each step
TEST(Oom, HitsCleanOomAndRecovers) {
  auto ctx = test::make_context();
  ASSERT_TRUE(ctx);
  const std::uint64_t limit = ctx->budget().limit();
  auto s = make("oom", {{"step", scalar("4MiB")}, {"budget", scalar("48MiB")}});
  ASSERT_TRUE(s);
  const auto summary = run(*s, *ctx, 1s);
  EXPECT_GT(summary.total.oom_events, 0u);
  EXPECT_EQ(summary.total.oom_recoveries, summary.total.oom_events);
  EXPECT_EQ(ctx->budget().limit(), limit);  // restored
  EXPECT_EQ(ctx->live_buffer_count(), 0u);
}

// checks that oom reports an unrecovered OOM and live bytes above baseline when its buffers are held
TEST(Oom, HeldMemoryIsAnUnrecoveredOom) {
  auto ctx = test::make_context();
  ASSERT_TRUE(ctx);
  auto s = make("oom", {{"step", scalar("4MiB")}, {"budget", scalar("32MiB")}});
  ASSERT_TRUE(s);
  const step_result r = run_with_fault(*s, *ctx, fault::hold_memory, 1);
  EXPECT_EQ(r.oom_events, 1u);
  EXPECT_EQ(r.oom_recoveries, 0u);
  EXPECT_GE(r.leaks, 1u);
  bool unrecovered = false;
  for (const auto& f : r.failures) unrecovered = unrecovered || f.find("unrecovered OOM") != std::string::npos;
  EXPECT_TRUE(unrecovered) << failures_text(r);
  EXPECT_EQ(ctx->live_buffer_count(), 0u);  // teardown let them go
}

// checks that leak_cycle creates and destroys buffers and contexts with counts back at baseline
TEST(LeakCycle, CountsReturnToBaseline) {
  auto ctx = test::make_context();
  ASSERT_TRUE(ctx);
  auto s = make("leak_cycle", {{"buffers_per_cycle", scalar("16")}, {"contexts_per_cycle", scalar("1")}});
  ASSERT_TRUE(s);
  const auto summary = run(*s, *ctx, 1s);
  EXPECT_EQ(summary.total.leaks, 0u);
  EXPECT_EQ(ctx->live_buffer_count(), 0u);
}

// checks that a planted leak is reported both above baseline and by a destroyed context's on_leak
TEST(LeakCycle, PlantedLeakIsAFailure) {
  auto ctx = test::make_context();
  ASSERT_TRUE(ctx);
  auto s = make("leak_cycle", {{"buffers_per_cycle", scalar("4")}, {"contexts_per_cycle", scalar("1")}});
  ASSERT_TRUE(s);
  const step_result r = run_with_fault(*s, *ctx, fault::hold_memory, 2);
  EXPECT_GE(r.leaks, 4u);  // 2 steps x (1 on the worker's context + 1 at a context's destruction)
  bool above = false, on_leak = false;
  for (const auto& f : r.failures) {
    above = above || f.find("baseline") != std::string::npos;
    on_leak = on_leak || f.find("leaked buffers at destruction") != std::string::npos;
  }
  EXPECT_TRUE(above) << failures_text(r);
  EXPECT_TRUE(on_leak) << failures_text(r);
}

// checks that memory_pressure holds its share of the budget while checked conv2d batches run
TEST(MemoryPressure, HoldsBudgetWhileConvRuns) {
  auto ctx = test::make_context({.budget_bytes = 96ull << 20});
  ASSERT_TRUE(ctx);
  auto s = make("memory_pressure", {{"hold_percent", scalar("50")}, {"hold_block", scalar("4MiB")}});
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->setup(*ctx).has_value());
  EXPECT_GE(ctx->budget().used(), 48ull << 20);
  (void)s->teardown(*ctx);
  const auto summary = run(*s, *ctx, 1s);
  EXPECT_EQ(summary.total.hot_path_copies, 0u);
  EXPECT_EQ(ctx->live_buffer_count(), 0u);
}

// checks that memory_pressure catches corruption of a held buffer
TEST(MemoryPressure, CorruptedHeldBufferIsAFailure) {
  auto ctx = test::make_context({.budget_bytes = 64ull << 20});
  ASSERT_TRUE(ctx);
  auto s = make("memory_pressure", {{"hold_percent", scalar("25")}});
  ASSERT_TRUE(s);
  const step_result r = run_with_fault(*s, *ctx, fault::corrupt_pattern, 1);
  EXPECT_GE(r.integrity_failures, 1u);
}

// checks that multi_context runs conv2d and churn on two contexts at once with no cross-talk
TEST(MultiContext, TwoContextsPass) {
  auto ctx = test::make_context();
  ASSERT_TRUE(ctx);
  auto s = make("multi_context", {{"contexts", scalar("2")}});
  ASSERT_TRUE(s);
  const auto summary = run(*s, *ctx, 1s);
  EXPECT_EQ(summary.total.leaks, 0u);
  EXPECT_EQ(summary.total.hot_path_copies, 0u);
}

}  // namespace
}  // namespace gpusoak::scenarios
