// Private: the soak runner's worker, which owns the GPU context and steps the scenarios.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gpusoak/harness/run_store.hpp"
#include "gpusoak/harness/soak_runner.hpp"

namespace gpusoak::harness::detail {

// Cumulative figures of one scenario name over the whole run, plus what accrued since its last
// sample.
struct scenario_totals {
  std::uint64_t iterations = 0;
  std::uint64_t copies = 0;  // context copies made while this scenario stepped
  std::uint64_t hot_path_copies = 0;
  std::uint64_t integrity_failures = 0;
  std::uint64_t oom_events = 0;
  std::uint64_t oom_recoveries = 0;
  std::uint64_t leaks = 0;
  std::uint64_t failures = 0;
  std::optional<double> fragmentation;
  std::size_t failure_events = 0;
  // Since the last sample.
  scenarios::latency_histogram interval_latency;
  std::uint64_t interval_iterations = 0;
};

// Where an interrupted run goes on from: its last sample's plan time and the totals it carried.
struct resume_point {
  double t = 0;
  std::map<std::string, scenario_totals> totals;
  // Per scenario name, failures stored at or before the start of the phase that t falls in.
  std::map<std::string, std::uint64_t> failures_before_phase;
};

// Reads the run's samples and events and rebuilds the totals at its last sample.
[[nodiscard]] gpu::result<resume_point> load_resume_point(run_store& store, std::string_view run_id,
                                                          const scenarios::plan& plan);

// How the worker ended.
struct worker_result {
  std::string failure;  // empty when it ran to the end or was stopped
  // A store write failed for lack of space (the failure says so); the worker wrote nothing after
  // it, so the stored run reads as a process killed at that point would leave it: resumable.
  bool out_of_space = false;
  stop_request stopped = stop_request::none;
};

// Runs the plan's phases from `from` on a context it creates; call on the thread that should own
// the context.
[[nodiscard]] worker_result run_worker(const scenarios::plan& plan, run_store& store, const std::string& run_id,
                                       const soak_options& options, const resume_point& from);

// The sample-extra keys for a totals record (docs/gate.md), and back (for a resume).
[[nodiscard]] std::string totals_json(const scenario_totals& totals);
void read_totals_json(std::string_view json, scenario_totals& totals);

}  // namespace gpusoak::harness::detail
