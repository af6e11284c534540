// Private: the soak runner's worker, which owns the GPU context and steps the scenarios.
#pragma once

#include <array>
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
  std::uint64_t copies = 0;  // context copies made while this scenario stepped, all paths
  // The worker context's counters that moved while this scenario stepped (or set up, or tore down).
  std::array<std::uint64_t, gpu::copy_path_count> copies_by_path{};
  std::array<std::uint64_t, gpu::copy_path_count> copied_bytes_by_path{};
  std::uint64_t allocations = 0;
  std::uint64_t frees = 0;
  std::uint64_t fence_waits = 0;
  std::uint64_t fence_wait_ns = 0;
  std::uint64_t watchdog_timeouts = 0;  // contexts rebuilt after this scenario's fence wait passed its bound
  std::uint64_t hot_path_copies = 0;
  std::uint64_t integrity_failures = 0;
  std::uint64_t oom_events = 0;
  std::uint64_t oom_recoveries = 0;
  std::uint64_t leaks = 0;
  std::uint64_t failures = 0;
  std::optional<double> fragmentation;
  std::size_t failure_events = 0;
  std::uint64_t fragmentation_refusals = 0;
  // Since the last sample.
  scenarios::latency_histogram interval_latency;
  scenarios::latency_histogram interval_fence_wait;  // blocking fence waits (counters' histogram)
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
[[nodiscard]] result<resume_point> load_resume_point(run_store& store, std::string_view run_id,
                                                     const scenarios::plan& plan);

// How the worker ended.
struct worker_result {
  // Unset when it ran to the end or was stopped. Of kind out_of_space when a store write failed for
  // lack of space: the worker wrote nothing after it, so the stored run reads as a process killed
  // at that point would leave it: resumable.
  std::optional<error> failure;
  stop_request stopped = stop_request::none;
};

// Runs the plan's phases from `from` on a context it creates; call on the thread that should own
// the context.
[[nodiscard]] worker_result run_worker(const scenarios::plan& plan, run_store& store, const std::string& run_id,
                                       const soak_options& options, const resume_point& from);

// Adds what the context's counters moved by from `before` to `after` (one step, set-up or
// teardown of the scenario).
void add_counters(scenario_totals& totals, const gpu::counters_snapshot& before, const gpu::counters_snapshot& after);

// The sample's extra_json for `scenario`: every extra and histogram series metric_catalog says its
// samples carry (docs/metrics.md), with the run's progress (plan time done / plan duration).
// read_totals_json reads the totals back for a resume.
[[nodiscard]] std::string totals_json(const scenario_totals& totals, std::string_view scenario, double progress,
                                      std::optional<std::uint64_t> gpu_memory_used = std::nullopt);
void read_totals_json(std::string_view json, scenario_totals& totals);

}  // namespace gpusoak::harness::detail
