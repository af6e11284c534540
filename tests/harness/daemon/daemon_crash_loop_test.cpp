// gpusoakd in a crash loop: a real daemon killed with SIGKILL at random points of one run, again and
// again, and restarted on the same state dir each time; runs.db is read after every kill, straight
// from the file. What docs/daemon.md promises: every committed sample survives, the run resumes at
// its last sample (so at most one sample interval of plan time goes unrecorded), the file passes
// PRAGMA integrity_check, and the run still ends with a verdict.
//
// GPUSOAK_CRASH_SEED=N repeats a seed (each run prints its own); GPUSOAK_CRASH_KILLS=N kills more
// often than the 10 CI uses (the plan grows with it).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "daemon_calls.hpp"
#include "daemon_process.hpp"
#include "store_file.hpp"
#include "temp_dir.hpp"

namespace gpusoak::harness {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::stored_sample;

constexpr double sample_interval_s = 0.05;
// How late past its tick a sample may be stored because the step that crossed the tick overran:
// the part of a gap that is not lost data (an unbroken run shows it too; the test prints both).
// The first steps of a new context are the slow ones (llvmpipe compiles shaders at the first
// dispatch): 0.16 s seen after a resume on a loaded 2-core machine. The exact check of where a
// run resumed is its "resumed at" event.
constexpr double overrun_allowance_s = 0.45;

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  return text != nullptr && *text != '\0' ? std::stoull(text) : fallback;
}

// Three phases, the last with two scenarios so that a kill can fall between the samples of one
// tick. Each phase lasts long enough that `kills` kills (each lets the run go on for at most
// ~0.8 s of plan time) leave the run unfinished when the loop ends.
std::string crash_plan(double phase_s) {
  return fmt::format(R"(name: crash_loop
devices: [0]
sample_interval: 50ms
phases:
  - name: conv
    duration: {0}s
    scenarios:
      - name: conv2d_steady
        params: {{shapes: ["N1 C3 16x16 K8 3x3 p1"]}}
  - name: frag
    duration: {0}s
    scenarios:
      - name: fragmentation
        params: {{pool_chunk: 8MiB, max_block: 256KiB}}
  - name: both
    duration: {0}s
    scenarios:
      - name: conv2d_steady
        params: {{shapes: ["N1 C3 16x16 K8 3x3 p1"]}}
      - name: fragmentation
        params: {{pool_chunk: 8MiB, max_block: 256KiB}}
thresholds:
  - "integrity_failures_total == 0"
  - "scenario_failures_total == 0"
)",
                     phase_s);
}

// Samples of `before` missing or changed in `after` (each one a test failure).
std::size_t lost_samples(const std::vector<stored_sample>& before, const std::vector<stored_sample>& after,
                         const std::string& when) {
  std::map<std::int64_t, const stored_sample*> by_seq;
  for (const auto& s : after) by_seq[s.seq] = &s;
  std::size_t lost = 0;
  for (const auto& s : before) {
    const auto it = by_seq.find(s.seq);
    if (it == by_seq.end() || *it->second != s) {
      ++lost;
      ADD_FAILURE() << when << ": sample seq " << s.seq << " (t=" << s.t_seconds << ", " << s.scenario << ") "
                    << (it == by_seq.end() ? "is gone" : "changed");
    }
  }
  return lost;
}

// Plan time never goes back along the stored samples (a resume must not store a tick twice).
void expect_time_moves_forward(const std::vector<stored_sample>& samples, const std::string& when) {
  for (std::size_t i = 1; i < samples.size(); ++i) {
    ASSERT_GE(samples[i].t_seconds, samples[i - 1].t_seconds)
        << when << ": sample seq " << samples[i].seq << " goes back in plan time";
    if (samples[i].t_seconds == samples[i - 1].t_seconds) {
      ASSERT_NE(samples[i].scenario, samples[i - 1].scenario)
          << when << ": two samples of " << samples[i].scenario << " at t=" << samples[i].t_seconds;
    }
  }
}

// One kill: what was on disk right after it.
struct kill_record {
  bool early = false;         // during start-up, recovery or context creation
  std::int64_t last_seq = 0;  // 0: no sample yet
  double last_t = 0;          // the plan time the run must resume from
};

// checks kill -9 at random points, ten times over one run: after every kill the file passes
// integrity_check and holds every sample committed before; after every restart the run is running
// again, resumes exactly at its last sample and stores new ones; at the end it passes its gate
TEST(daemon_crash_loop, kill_9_at_random_points_loses_no_stored_sample) {
  const std::uint64_t seed = env_or("GPUSOAK_CRASH_SEED", std::random_device{}());
  const int kills = static_cast<int>(env_or("GPUSOAK_CRASH_KILLS", 10));
  const double phase_s = std::max(4.0, 0.4 * kills);
  std::cout << fmt::format("crash loop: seed {} (GPUSOAK_CRASH_SEED={} repeats it), {} kills\n", seed, seed, kills);
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);

  test::temp_dir dir("gpusoakd-crash");
  const auto state = dir / "state";
  const auto db = state / "runs.db";
  const auto t0 = std::chrono::steady_clock::now();

  auto d = std::make_unique<test::daemon_process>(state);
  const auto started = d->call("POST", "/api/v1/runs", json{{"plan_yaml", crash_plan(phase_s)}}.dump());
  ASSERT_EQ(started.status, 201) << started.body;
  const std::string id = test::body_json(started)["id"];

  std::vector<stored_sample> committed;  // what the last kill left on disk
  std::vector<kill_record> record;
  std::size_t lost = 0;
  for (int i = 0; i < kills; ++i) {
    // Early kills land in start-up, recovery, context creation or the first steps; late ones after
    // the resumed run stored a new sample (which is the check that it resumed).
    const bool early = i > 0 && std::bernoulli_distribution(0.3)(rng);
    if (!early) {
      const std::size_t before = committed.size();
      test::wait_run(
          *d, id,
          [&](const json& run) {
            return run.value("state", "") == "running" && run.value("samples", std::size_t{0}) > before;
          },
          30s, fmt::format("running with more than {} samples after restart {}", before, i));
      if (HasFailure()) break;
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(0, early ? 300 : 700)(rng)));
    ASSERT_EQ(d->stop(SIGKILL), 128 + SIGKILL);
    d.reset();

    const std::string when = fmt::format("kill {} ({})", i + 1, early ? "early" : "late");
    test::store_file file(db);
    ASSERT_EQ(file.integrity_check(), "ok") << when;
    auto now = file.samples(id);
    lost += lost_samples(committed, now, when);
    expect_time_moves_forward(now, when);
    ASSERT_NE(file.run_state(id), "") << when;
    EXPECT_FALSE(test::is_final_state(file.run_state(id))) << when << ": the run ended during the loop; "
                                                           << "the plan is too short for " << kills << " kills";
    record.push_back({.early = early,
                      .last_seq = now.empty() ? 0 : now.back().seq,
                      .last_t = now.empty() ? 0 : now.back().t_seconds});
    committed = std::move(now);

    d = std::make_unique<test::daemon_process>(state);
    test::wait_run(
        *d, id, [](const json& run) { return run.value("state", "") == "running"; }, 10s,
        fmt::format("state running after restart {}", i + 1));
    if (HasFailure()) break;
  }

  const auto run = test::wait_final(*d, id, 90s);
  EXPECT_EQ(run["state"], "passed") << run.dump(2);
  ASSERT_TRUE(run.contains("verdicts")) << run.dump(2);
  EXPECT_FALSE(run["verdicts"].empty()) << run.dump(2);
  for (const auto& v : run["verdicts"]) EXPECT_TRUE(v["passed"].get<bool>()) << v.dump();
  for (const auto& ph : run["phases"]) EXPECT_EQ(ph["state"], "passed") << ph.dump();
  d.reset();

  test::store_file file(db);
  EXPECT_EQ(file.integrity_check(), "ok") << "at the end";
  const auto all = file.samples(id);
  lost += lost_samples(committed, all, "at the end");
  expect_time_moves_forward(all, "at the end");
  ASSERT_FALSE(all.empty());
  EXPECT_DOUBLE_EQ(all.back().t_seconds, 3 * phase_s) << "the run reached the plan's end";

  // Each resume: it starts from the last committed sample (a "resumed at" event there when that
  // sample is inside a phase) and stores its next sample one interval on, give or take an overrun.
  const auto events = file.rows("SELECT t_seconds, message FROM events WHERE run_id = ?1", id);
  double max_resume_gap = 0;
  for (std::size_t k = 0; k < record.size(); ++k) {
    const auto& kill = record[k];
    const auto next = std::ranges::find_if(all, [&](const stored_sample& s) { return s.seq > kill.last_seq; });
    ASSERT_NE(next, all.end()) << "kill " << k + 1 << ": no sample after it";
    const double gap = next->t_seconds - kill.last_t;
    max_resume_gap = std::max(max_resume_gap, gap);
    EXPECT_GT(gap, 0) << "kill " << k + 1 << ": resumed before its last sample";
    EXPECT_LE(gap, sample_interval_s + overrun_allowance_s)
        << "kill " << k + 1 << ": the first sample after the resume is " << gap << " s after the last one";
    const double into_phase = std::fmod(kill.last_t, phase_s);
    if (kill.last_seq != 0 && into_phase > 1e-9 && phase_s - into_phase > 1e-9) {
      const bool resumed_there = std::ranges::any_of(events, [&](const auto& e) {
        return std::abs(std::stod(e.at(0)) - kill.last_t) < 1e-9 && e.at(1).starts_with("resumed at t=");
      });
      EXPECT_TRUE(resumed_there) << "kill " << k + 1 << ": no 'resumed at' event at t=" << kill.last_t;
    }
  }
  // For comparison: the widest step between two ticks anywhere in the run.
  double max_gap = 0;
  for (std::size_t i = 1; i < all.size(); ++i) max_gap = std::max(max_gap, all[i].t_seconds - all[i - 1].t_seconds);

  const auto early = std::ranges::count_if(record, [](const kill_record& k) { return k.early; });
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << fmt::format(
      "crash loop: seed {}: {} faults injected ({} early, {} late), {} samples stored, {} samples lost, resume gap "
      "max {:.3f} s, widest gap in the run {:.3f} s (interval {} s), {:.1f} s\n",
      seed, record.size(), early, record.size() - early, all.size(), lost, max_resume_gap, max_gap, sample_interval_s,
      seconds);
  EXPECT_EQ(lost, 0u);
  EXPECT_EQ(record.size(), static_cast<std::size_t>(kills));
}

}  // namespace
}  // namespace gpusoak::harness
