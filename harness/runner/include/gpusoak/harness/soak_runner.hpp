// The soak runner: one plan on one GPU, phase by phase, sampled into the run store and gated at the
// end. `gpusoak soak` runs it in the foreground; gpusoakd runs it on one worker thread per GPU.
//
// The runner works on a run already in the store (create_soak_run): it marks it running and, on
// a worker thread that creates and owns the gpu::context, goes through the phases. For each phase
// it records the start, builds the scenarios (make_scenario, a seed derived per scenario from the
// run seed), sets each up, then round-robins steps until the phase duration has elapsed, always
// stepping the scenario whose accumulated step time divided by its weight is smallest; a phase
// whose first steps outlast it goes on until each scenario set up has stepped once. Every
// plan.sample_interval it appends one sample per scenario name with the interval's latency
// quantiles and histogram and the run's cumulative counters in extra_json under the keys the gate
// reads (docs/gate.md). A failed setup is a scenario failure (event + count), not a crash.
//
// Time: a sample's t is plan time (the phases before it plus the time into its phase), not wall
// time, so a resumed run goes on from exactly where its last sample was.
//
// Resume: an interrupted run (kill -9, or a shutdown through soak_control) starts again at its
// last sample's t: finished phases are skipped, the phase it was in runs for what is left, and
// the cumulative counters go on from the last samples. An event says so.
//
// Watchdog: a step that reports context_lost (a fence wait past its bound) is a failure with that
// reason; the context is rebuilt, the phase's scenarios are set up again, and the run goes on.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gpusoak/buffers/context.hpp"
#include "gpusoak/error.hpp"
#include "gpusoak/harness/gate.hpp"
#include "gpusoak/harness/run_store.hpp"
#include "gpusoak/scenarios/plan.hpp"
#include "gpusoak/scenarios/scenario.hpp"

namespace gpusoak::harness {

// What the runner is asked to do between steps. It finishes the step in flight first.
enum class stop_request : std::uint8_t {
  none,
  abort,      // `stop`: tear down, store the last samples, the run ends aborted
  interrupt,  // daemon shutdown: store the last samples, the run stays resumable (interrupted)
};

// Shared between the runner's thread and whoever stops it. The first request wins.
class soak_control {
 public:
  void request(stop_request r) noexcept {
    auto expected = stop_request::none;
    request_.compare_exchange_strong(expected, r);
  }
  [[nodiscard]] stop_request requested() const noexcept { return request_.load(); }

 private:
  std::atomic<stop_request> request_{stop_request::none};
};

// Live figures for the daemon's metrics and status. Called on the worker thread; keep it cheap.
class soak_observer {
 public:
  virtual ~soak_observer() = default;
  // A context was created (run start, resume, watchdog rebuild): its counters start at zero.
  virtual void on_context(gpu::context& ctx) { (void)ctx; }
  virtual void on_phase(std::size_t index, const scenarios::phase& ph, double plan_t) {
    (void)index, (void)ph, (void)plan_t;
  }
  // After every step; copies are the context's copies made during it.
  virtual void on_step(std::string_view scenario, const scenarios::step_result& r) { (void)scenario, (void)r; }
  // After a round of samples is stored, with the context's counters at that moment.
  virtual void on_samples(std::span<const sample> samples, const gpu::counters_snapshot& counters) {
    (void)samples, (void)counters;
  }
  virtual void on_watchdog(std::string_view reason) { (void)reason; }
};

struct soak_options {
  gpu::context_options context;           // the worker's context; device_index set from the plan unless
  bool device_from_cli = false;           // ... this is true (--device given)
  std::uint64_t seed = 1;                 // scenario seeds are derived from it
  double time_scale = 1.0;                // stored with the run (the plan passed in is already scaled)
  std::ostream* progress = nullptr;       // one line per sample interval, when set
  std::size_t max_failure_events = 20;    // failure events stored per scenario name
  soak_observer* observer = nullptr;      // live figures, when set
  const soak_control* control = nullptr;  // stop requests, when set
  // Tests: faults planted in every scenario of this name right after its first setup (not after a
  // watchdog rebuild), to prove the checks and the watchdog fire.
  std::vector<std::pair<std::string, scenarios::fault>> inject;
};

struct soak_outcome {
  std::string run_id;
  // interrupted when stopped by stop_request::interrupt or by a full disk (run_store::out_of_space)
  run_state state = run_state::could_not_run;
  int exit_code = exit_could_not_run;  // 0 passed, 1 failed, 2 could not run, 3 aborted
  std::string reason;                  // why, in one line
  std::optional<gate_report> report;   // when the gate ran
};

// The device a run is bound to, as stored with it ("egl_device:0").
[[nodiscard]] std::string run_device(const scenarios::plan& plan, const soak_options& options);

// Stores a queued run of `plan` (already scaled); plan_text is stored as given.
[[nodiscard]] result<std::string> create_soak_run(const scenarios::plan& plan, std::string_view plan_text,
                                                  run_store& store, const soak_options& options);

// Runs (or resumes, when it is interrupted) the stored run `run_id` of `plan`. Fails only when
// the run cannot be marked running; everything after that (no context, a store write failing
// mid-run) ends the run could_not_run and is reported in the outcome, except a write failing for
// lack of space: that stops the run as interrupted (the reason names the full disk), to resume
// from its last stored sample once there is space. Its stored state may then still read running.
[[nodiscard]] result<soak_outcome> execute_soak(const scenarios::plan& plan, std::string_view run_id, run_store& store,
                                                const soak_options& options);

// create_soak_run, then execute_soak.
[[nodiscard]] result<soak_outcome> run_soak(const scenarios::plan& plan, std::string_view plan_text, run_store& store,
                                            const soak_options& options);

}  // namespace gpusoak::harness
