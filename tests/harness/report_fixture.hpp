// A stored run with random but known figures, for the report tests: two scenarios on one context,
// two phases, info/warn/error events, and a plan whose thresholds the report re-evaluates.
#pragma once

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "gpusoak/harness/run_store.hpp"

namespace gpusoak::test {

inline constexpr const char* report_plan_yaml = R"(name: report-test
phases:
  - name: warmup
    duration: 30s
    scenarios:
      - name: conv2d_steady
  - name: churn
    duration: 60s
    scenarios:
      - name: conv2d_steady
      - name: leak_cycle
thresholds:
  - "p99(op_latency_seconds) < 500ms"
  - "max(live_bytes) < 1GiB"
  - "errors_total == 0"
  - "copies_total{path=\"hot\"} == 0"
)";

struct synthetic_run {
  std::string id;
  std::vector<harness::sample> samples;  // as stored, in order
  std::vector<harness::event> events;
  std::vector<std::string> scenarios{"conv2d_steady", "leak_cycle"};
  // The last stored sample of a scenario.
  const harness::sample& last(const std::string& scenario) const {
    for (auto it = samples.rbegin(); it != samples.rend(); ++it) {
      if (it->scenario == scenario) return *it;
    }
    throw std::runtime_error("no sample of " + scenario);
  }
};

struct synthetic_options {
  std::uint32_t seed = 20240611;
  int times = 40;              // sample times; each has one sample per scenario
  bool hot_copies_key = true;  // extra_json carries copies_total{path="hot"}
  std::string plan_text = report_plan_yaml;
  harness::timestamp created_at = harness::now_timestamp();  // the run id's date comes from it
};

// Throws (failing the test) when the store refuses a write.
inline synthetic_run make_synthetic_run(harness::run_store& store, const synthetic_options& options = {}) {
  using namespace harness;
  auto check = [](const gpusoak::result<void>& r, const char* what) {
    if (!r) throw std::runtime_error(std::string(what) + ": " + r.error().message);
  };
  synthetic_run run;
  auto id = store.create_run({.plan_name = "report-test",
                              .plan_text = options.plan_text,
                              .device = "1",
                              .time_scale = 0.5,
                              .created_at = options.created_at});
  if (!id) throw std::runtime_error(id.error().message);
  run.id = *id;
  const auto start = now_timestamp();
  check(store.mark_running(run.id, start), "mark_running");
  check(store.record_phase_start(run.id, 0, "warmup", start), "phase 0");

  std::mt19937 rng(options.seed);
  std::uniform_int_distribution<std::int64_t> live(64 << 20, 512 << 20), rss(700 << 20, 900 << 20);
  std::uniform_int_distribution<std::int64_t> step(1, 9), buffers(10, 500), iters(1, 400);
  std::uniform_real_distribution<double> lat(0.001, 0.02);
  std::int64_t copies[2] = {0, 0}, hot[2] = {0, 0}, errors[2] = {0, 0};
  for (int i = 0; i < options.times; ++i) {
    const double t = 1.5 * (i + 1) + std::uniform_real_distribution<double>(0, 0.4)(rng);
    if (i == options.times / 2) {
      check(store.record_phase_end(run.id, 0, phase_state::passed, start), "phase 0 end");
      check(store.record_phase_start(run.id, 1, "churn", start), "phase 1");
    }
    const std::int64_t live_bytes = live(rng), rss_bytes = rss(rng), live_buffers = buffers(rng);
    for (int k = 0; k < 2; ++k) {
      copies[k] += step(rng);
      if (k == 1) hot[k] += step(rng) % 2;
      if (i % 7 == k) errors[k] += 1;
      double q[3] = {lat(rng), lat(rng), lat(rng)};
      std::sort(q, q + 3);
      sample s{.t_seconds = t,
               .scenario = run.scenarios[static_cast<std::size_t>(k)],
               .context = "egl0",
               .live_buffers = live_buffers,
               .live_bytes = live_bytes,
               .rss_bytes = rss_bytes,
               .copies_total = copies[k],
               .errors_total = errors[k],
               .latency_p50_seconds = q[0],
               .latency_p90_seconds = q[1],
               .latency_p99_seconds = q[2],
               // One interval measured nothing: its quantiles must not be drawn or gated.
               .iterations = (i == 3 && k == 0) ? 0 : iters(rng)};
      s.extra_json = options.hot_copies_key
                         ? fmt::format(R"({{"copies_total{{path=\"hot\"}}": {}, "scenario_failures_total": {}}})",
                                       hot[k], errors[k])
                         : fmt::format(R"({{"scenario_failures_total": {}}})", errors[k]);
      check(store.append_sample(run.id, s), "append_sample");
      run.samples.push_back(s);
    }
  }
  run.events = {
      {.t_seconds = 2.5, .level = "info", .scenario = "", .message = "run started"},
      {.t_seconds = 7.25, .level = "error", .scenario = "leak_cycle", .message = "pattern mismatch at byte 4096 <b>"},
      {.t_seconds = 5.5, .level = "warn", .scenario = "conv2d_steady", .message = "slow fence"},
      {.t_seconds = 3.0, .level = "error", .scenario = "conv2d_steady", .message = "wrong conv2d result at 17"}};
  for (const auto& e : run.events) check(store.append_event(run.id, e), "append_event");
  check(store.record_phase_end(run.id, 1, phase_state::failed, now_timestamp()), "phase 1 end");
  check(store.finish_run(run.id, run_state::failed, "2 scenario failures", now_timestamp()), "finish_run");
  return run;
}

}  // namespace gpusoak::test
