// The soak runner on real GL: stop requests (abort and interrupt), resume from the last sample
// with counters carried over, the watchdog rebuilding the context, the merged latency histogram
// and the leak slope counted once per context.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "gpusoak/harness/run_store.hpp"
#include "gpusoak/harness/soak_runner.hpp"
#include "gpusoak/scenarios/plan.hpp"
#include "stored_run_builder.hpp"
#include "temp_store.hpp"

namespace gpusoak::harness {
namespace {

using namespace std::chrono_literals;

// Two phases of 1.5 s, conv2d_steady then fragmentation, sampled every 100 ms.
constexpr const char* two_phase_plan = R"(name: two-phase
devices: [0]
sample_interval: 100ms
phases:
  - name: conv
    duration: 1500ms
    scenarios:
      - name: conv2d_steady
        params: {shapes: ["N1 C3 16x16 K8 3x3 p1"]}
  - name: frag
    duration: 1500ms
    scenarios:
      - name: fragmentation
        params: {pool_chunk: 8MiB, max_block: 256KiB}
thresholds:
  - "p50(conv2d_latency_seconds) < 1s"  # p50 needs 10 ops, which 1.5 s has even on a loaded machine
  - "integrity_failures_total == 0"
  - "scenario_failures_total == 0"
)";

class counting_observer final : public soak_observer {
 public:
  void on_context(gpu::context&) override { ++contexts; }
  void on_samples(std::span<const sample> samples, const gpu::counters_snapshot&) override {
    if (!samples.empty()) last_t = samples.front().t_seconds;
  }
  void on_watchdog(std::string_view) override { ++watchdogs; }
  std::atomic<int> contexts{0};
  std::atomic<int> watchdogs{0};
  std::atomic<double> last_t{0};
};

class soak_runner_test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto plan = scenarios::parse_plan(two_phase_plan, "two-phase");
    ASSERT_TRUE(plan.has_value()) << plan.error().message;
    plan_ = *plan;
  }

  soak_options options(soak_observer* observer = nullptr, const soak_control* control = nullptr) {
    soak_options o;
    o.context.name = "runner";
    o.observer = observer;
    o.control = control;
    o.seed = 7;
    return o;
  }

  // Requests `r` once the observer has seen a sample at or after plan time t.
  std::thread request_at(const counting_observer& observer, soak_control& control, double t, stop_request r) {
    return std::thread([&observer, &control, t, r] {
      const auto deadline = std::chrono::steady_clock::now() + 60s;
      while (observer.last_t.load() < t && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(5ms);
      control.request(r);
    });
  }

  test::temp_store store_{"gpusoak-runner"};
  scenarios::plan plan_;
};

std::uint64_t extra_u64(const sample& s, const char* key) {
  return nlohmann::json::parse(s.extra_json).value(key, std::uint64_t{0});
}

// checks that a run interrupted exactly at a phase boundary (its last sample at the first phase's
// end) still stores its "resumed at" event when it goes on with the next phase
TEST_F(soak_runner_test, a_resume_on_a_phase_boundary_is_recorded) {
  const auto id =
      test::stored_run_builder(*store_, {.plan_name = "two-phase", .plan_text = two_phase_plan, .device = "0"})
          .running()
          .phase("conv")
          .series(15,
                  [](int i) {
                    return sample{.t_seconds = 0.1 * (i + 1), .scenario = "conv2d_steady", .context = "runner"};
                  })
          .end_phase(phase_state::passed)
          .interrupted()
          .id();

  auto resumed = execute_soak(plan_, id, *store_, options());
  ASSERT_TRUE(resumed.has_value()) << resumed.error().message;
  auto events = store_->events(id);
  ASSERT_TRUE(events.has_value());
  const auto it = std::ranges::find_if(*events, [](const event& e) { return e.message.starts_with("resumed at t="); });
  ASSERT_NE(it, events->end()) << "no 'resumed at' event";
  EXPECT_DOUBLE_EQ(it->t_seconds, 1.5);
  EXPECT_NE(it->message.find("phase 2 'frag'"), std::string::npos) << it->message;
}

// checks that an interrupt leaves the run resumable at its last sample, and that the resume
// finishes the plan from there with every counter carried over and the samples continuous
TEST_F(soak_runner_test, interrupt_then_resume_goes_on_from_the_last_sample) {
  counting_observer observer;
  soak_control control;
  auto stopper = request_at(observer, control, 0.6, stop_request::interrupt);
  auto first = run_soak(plan_, two_phase_plan, *store_, options(&observer, &control));
  stopper.join();
  ASSERT_TRUE(first.has_value()) << first.error().message;
  EXPECT_EQ(first->state, run_state::interrupted) << first->reason;
  auto interrupted = store_->get_run(first->run_id);
  ASSERT_TRUE(interrupted.has_value());
  EXPECT_EQ(interrupted->state, run_state::interrupted);
  ASSERT_TRUE(interrupted->last_sample_t.has_value());
  const double stopped_at = *interrupted->last_sample_t;
  EXPECT_GE(stopped_at, 0.6);
  EXPECT_LT(stopped_at, 1.5) << "the interrupt came in the first phase";
  auto before = store_->samples(first->run_id);
  ASSERT_TRUE(before.has_value());
  const auto iterations_before = extra_u64(before->back(), "scenario_iterations_total");
  EXPECT_GT(iterations_before, 0u);

  counting_observer resumed_observer;
  auto second = execute_soak(plan_, first->run_id, *store_, options(&resumed_observer));
  ASSERT_TRUE(second.has_value()) << second.error().message;
  EXPECT_EQ(second->state, run_state::passed) << second->reason;

  auto after = store_->samples(first->run_id);
  ASSERT_TRUE(after.has_value());
  // Nothing stored before the interrupt is gone, and the resumed samples start where it stopped.
  ASSERT_GT(after->size(), before->size());
  for (std::size_t i = 0; i < before->size(); ++i) EXPECT_EQ((*after)[i], (*before)[i]) << "sample " << i;
  const auto& first_resumed = (*after)[before->size()];
  EXPECT_GE(first_resumed.t_seconds, stopped_at);
  EXPECT_LE(first_resumed.t_seconds, stopped_at + 0.1 + 0.5) << "one interval (plus a step) after the stop";
  double max_t = 0;
  std::uint64_t conv_iterations = 0;
  for (const auto& s : *after) {
    max_t = std::max(max_t, s.t_seconds);
    if (s.scenario == "conv2d_steady") conv_iterations = extra_u64(s, "scenario_iterations_total");
  }
  EXPECT_DOUBLE_EQ(max_t, 3.0) << "the plan ran to its end in plan time";
  EXPECT_GT(conv_iterations, iterations_before) << "cumulative counters go on from the interrupted run";
  auto events = store_->events(first->run_id);
  ASSERT_TRUE(events.has_value());
  bool said_resumed = false;
  for (const auto& e : *events) said_resumed = said_resumed || e.message.starts_with("resumed at t=");
  EXPECT_TRUE(said_resumed);
  auto phases = store_->phases(first->run_id);
  ASSERT_TRUE(phases.has_value());
  ASSERT_EQ(phases->size(), 2u);
  for (const auto& ph : *phases) EXPECT_EQ(ph.state, phase_state::passed) << ph.name;
  EXPECT_TRUE(store_->integrity_check().has_value());
}

// checks that a stop request ends the run aborted after the current step, with its samples kept
TEST_F(soak_runner_test, abort_ends_the_run_aborted) {
  counting_observer observer;
  soak_control control;
  auto stopper = request_at(observer, control, 0.3, stop_request::abort);
  auto outcome = run_soak(plan_, two_phase_plan, *store_, options(&observer, &control));
  stopper.join();
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_EQ(outcome->state, run_state::aborted);
  EXPECT_EQ(outcome->exit_code, exit_aborted);
  auto run = store_->get_run(outcome->run_id);
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->state, run_state::aborted);
  EXPECT_LT(run->last_sample_t.value_or(99), 1.5);
  auto phases = store_->phases(outcome->run_id);
  ASSERT_TRUE(phases.has_value());
  ASSERT_EQ(phases->size(), 1u) << "the second phase never started";
  EXPECT_EQ(phases->front().state, phase_state::aborted);
}

// checks that a step reporting a lost GPU fails the scenario with the watchdog's reason, that the
// context is rebuilt and the scenario set up again, and that the run goes on stepping afterwards
TEST_F(soak_runner_test, watchdog_rebuilds_the_context_and_the_run_goes_on) {
  counting_observer observer;
  auto o = options(&observer);
  o.inject = {{"conv2d_steady", scenarios::fault::gpu_stall}};
  auto outcome = run_soak(plan_, two_phase_plan, *store_, o);
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_EQ(outcome->state, run_state::failed) << "scenario_failures_total == 0 must fail: " << outcome->reason;
  EXPECT_EQ(observer.watchdogs.load(), 1);
  EXPECT_EQ(observer.contexts.load(), 2) << "the run's context, then the rebuilt one";
  auto events = store_->events(outcome->run_id);
  ASSERT_TRUE(events.has_value());
  double watchdog_t = -1;
  for (const auto& e : *events) {
    if (e.message.starts_with("watchdog:")) watchdog_t = e.t_seconds;
  }
  ASSERT_GE(watchdog_t, 0) << "a watchdog event is stored";
  auto samples = store_->samples(outcome->run_id);
  ASSERT_TRUE(samples.has_value());
  std::uint64_t iterations_after = 0;
  for (const auto& s : *samples) {
    if (s.scenario == "conv2d_steady" && s.t_seconds > watchdog_t)
      iterations_after += static_cast<std::uint64_t>(s.iterations);
  }
  EXPECT_GT(iterations_after, 0u) << "conv2d_steady ran again on the rebuilt context";
  EXPECT_EQ(extra_u64(samples->back(), "integrity_failures_total"), 0u) << "results stayed right after the rebuild";
  std::uint64_t timeouts = 0;
  for (const auto& s : *samples) {
    if (s.scenario == "conv2d_steady") timeouts = extra_u64(s, "watchdog_timeouts_total");
  }
  EXPECT_EQ(timeouts, 1u) << "the samples count the rebuild, for watchdog_timeouts_total";
  const auto t = scenarios::parse_threshold("watchdog_timeouts_total == 0");
  const auto run = store_->get_run(outcome->run_id);
  ASSERT_TRUE(t.has_value() && run.has_value());
  const auto gate = evaluate_gate(*run, *samples, std::span(&*t, 1), {});
  ASSERT_TRUE(gate.has_value());
  EXPECT_EQ(gate->rows.at(0).status, gate_status::failed) << gate->rows.at(0).detail;
  EXPECT_EQ(gate->rows.at(0).observed, 1.0);
}

// checks that the gate's latency quantile comes from the merged per-sample histograms (so the
// sample interval does not change it) and counts every op
TEST_F(soak_runner_test, latency_quantile_merges_the_sample_histograms) {
  auto outcome = run_soak(plan_, two_phase_plan, *store_, options());
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  ASSERT_TRUE(outcome->report.has_value());
  const auto& row = outcome->report->rows.front();
  ASSERT_TRUE(row.observed.has_value()) << row.detail;
  auto samples = store_->samples(outcome->run_id);
  ASSERT_TRUE(samples.has_value());
  std::uint64_t ops = 0;
  double max_latency = 0;
  for (const auto& s : *samples) {
    if (s.scenario != "conv2d_steady") continue;
    ops += static_cast<std::uint64_t>(s.iterations);
    max_latency = std::max(max_latency, nlohmann::json::parse(s.extra_json).value("latency_max_seconds", 0.0));
  }
  EXPECT_NE(row.detail.find(std::to_string(ops) + " ops"), std::string::npos) << row.detail << " vs " << ops;
  EXPECT_GT(*row.observed, 0);
  EXPECT_LE(*row.observed, max_latency) << "a quantile never exceeds the slowest op";
}

// checks that a phase shorter than its scenarios' first steps still steps each of them once (the
// phase goes on past its duration for them) and passes with every scenario's work counted; before,
// the scenarios after the first did nothing and the run passed anyway (seen under TSan)
TEST_F(soak_runner_test, a_phase_shorter_than_its_first_steps_steps_every_scenario_once) {
  constexpr const char* blink_plan = R"(name: blink
devices: [0]
sample_interval: 100ms
phases:
  - name: blink
    duration: 1us
    scenarios:
      - name: conv2d_steady
        params: {shapes: ["N1 C3 16x16 K8 3x3 p1"]}
      - name: fragmentation
        params: {pool_chunk: 8MiB, max_block: 256KiB}
      - name: leak_cycle
        params: {buffers_per_cycle: 8, contexts_per_cycle: 1}
thresholds:
  - "scenario_failures_total == 0"
)";
  auto plan = scenarios::parse_plan(blink_plan, "blink");
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  auto outcome = run_soak(*plan, blink_plan, *store_, options());
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_EQ(outcome->state, run_state::passed) << outcome->reason;
  auto samples = store_->samples(outcome->run_id);
  ASSERT_TRUE(samples.has_value());
  std::map<std::string, std::uint64_t> iterations;
  double max_t = 0;
  for (const auto& s : *samples) {
    iterations[s.scenario] = extra_u64(s, "scenario_iterations_total");
    max_t = std::max(max_t, s.t_seconds);
  }
  for (const char* scenario : {"conv2d_steady", "fragmentation", "leak_cycle"}) {
    EXPECT_GT(iterations[scenario], 0u) << scenario << " never stepped";
  }
  EXPECT_DOUBLE_EQ(max_t, 1e-6) << "plan time stops at the phase's end";
}

}  // namespace
}  // namespace gpusoak::harness
