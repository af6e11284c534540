// The soak runner: one plan on one GPU, phase by phase, sampled into the run store and gated at the
// end. `gpusoak soak` runs it in the foreground; the daemon will wrap the same runner.
//
// The runner creates the run (plan name, plan text as given, time scale), marks it running, and on
// a worker thread that creates and owns the gpu::context: for each phase, records its start, builds
// its scenarios (make_scenario, a seed derived per scenario from the run seed), sets each up, then
// round-robins steps until the phase duration has elapsed, always stepping the scenario whose
// accumulated step time divided by its weight is smallest (so each gets its weighted share of the
// phase). Every plan.sample_interval it appends one sample per scenario (per name: entries of the
// same name in a phase are merged) with per-interval latency quantiles and iterations, and
// cumulative counters (per scenario name, over the whole run) in extra_json under the keys the
// gate reads (docs/gate.md). A failed setup is a scenario failure (event + count), not a crash.
// After teardown a final sample per scenario carries the teardown checks. At the end the plan's
// thresholds are gated (run_gate) and the run finished passed, failed or could_not_run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include "gpusoak/buffers/context.hpp"
#include "gpusoak/buffers/error.hpp"
#include "gpusoak/harness/gate.hpp"
#include "gpusoak/harness/run_store.hpp"
#include "gpusoak/scenarios/plan.hpp"

namespace gpusoak::harness {

struct soak_options {
  gpu::context_options context;         // the worker's context; device_index set from the plan unless
  bool device_from_cli = false;         // ... this is true (--device given)
  std::uint64_t seed = 1;               // scenario seeds are derived from it
  double time_scale = 1.0;              // stored with the run (the plan passed in is already scaled)
  std::ostream* progress = nullptr;     // one line per sample interval, when set
  std::size_t max_failure_events = 20;  // failure events stored per scenario name
};

struct soak_outcome {
  std::string run_id;
  run_state state = run_state::could_not_run;
  int exit_code = gate_exit_could_not_run;  // 0 passed, 1 failed, 2 could not run
  std::string reason;                       // why, in one line
  std::optional<gate_report> report;        // when the gate ran
};

// Runs `plan` (already scaled). plan_text is stored with the run as given. Fails only when the
// run cannot even be created or marked running in the store; everything after that (no context,
// a store write failing mid-run) ends the run could_not_run and is reported in the outcome.
[[nodiscard]] gpu::result<soak_outcome> run_soak(const scenarios::plan& plan, std::string_view plan_text,
                                                 run_store& store, const soak_options& options);

}  // namespace gpusoak::harness
