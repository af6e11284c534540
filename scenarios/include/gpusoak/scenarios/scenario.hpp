// The scenario interface (design.md, "Scenarios"): one class per scenario with setup, step and
// teardown, a seed, its own parameters and its own pass/fail checks.
//
// A scenario runs on a GPU worker thread that owns a gpu::context; every call gets that context
// and runs on that thread. step() does a bounded unit of work (milliseconds) and returns what it
// observed; a failed check (corruption, a wrong conv2d result, an unexpected hot-path copy, an
// unrecovered OOM, a leak) is a recorded failure in the step_result, with its reason, never only
// a log line. Scenarios that need more contexts (multi_context, leak_cycle) create them on their
// own threads, because creating a context makes it current on the creating thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gpusoak/buffers/context.hpp"
#include "gpusoak/buffers/strategy.hpp"
#include "gpusoak/error.hpp"
#include "gpusoak/scenarios/log_histogram.hpp"
#include "gpusoak/scenarios/plan.hpp"  // param_value

namespace gpusoak::scenarios {

using scenario_params = std::map<std::string, param_value, std::less<>>;

// Op latencies, kept twice from the same observations: in fixed 1-2-5 buckets from 1us to 1s plus
// an overflow bucket (Prometheus' conventional buckets, for /metrics and dashboards), and in a
// log_histogram of bounded relative error (what samples store and quantiles are read from).
struct latency_histogram {
  static constexpr std::array<double, 19> bounds{1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3,
                                                 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 1e-1, 2e-1, 5e-1, 1.0};
  std::array<std::uint64_t, bounds.size() + 1> buckets{};  // buckets[i]: value <= bounds[i]; last: > 1s
  log_histogram fine;                                      // the same values, within 1%
  std::uint64_t count = 0;
  double sum_seconds = 0;
  double max_seconds = 0;

  void add(double seconds);
  void merge(const latency_histogram& other);
  // Quantile q in [0, 1] from `fine` (within log_histogram::relative_accuracy of the true value),
  // at most max_seconds; 0 when empty.
  [[nodiscard]] double quantile(double q) const;
};

// What one step (or a whole run, merged) observed.
struct step_result {
  std::uint64_t iterations = 0;  // units of work done (conv2d batches, alloc/free ops, cycles)
  latency_histogram latency;     // op latencies, seconds
  // Copies counted by the context during hot-path work on a zero-copy (mapped) strategy, where
  // there must be none. A fallback's copies (staging_copy's uploads and readbacks) are expected:
  // the context counts them by copy_path, and they are not hot-path copies.
  std::uint64_t hot_path_copies = 0;
  std::uint64_t integrity_failures = 0;  // pattern mismatches and wrong conv2d results
  std::uint64_t oom_events = 0;          // out_of_memory errors met on purpose or not
  std::uint64_t oom_recoveries = 0;      // OOMs after which allocation worked again at baseline
  std::uint64_t leaks = 0;               // buffers reported by on_leak or left above baseline
  std::optional<double> fragmentation;   // latest pool fragmentation ratio, when the scenario has one
  // Pool allocations refused (out of memory) although the pool's free bytes added up to the size:
  // fragmentation that cost a request.
  std::uint64_t fragmentation_refusals = 0;
  // A fence wait passed its bound (error_kind::context_lost): the GPU stopped answering. The
  // runner's watchdog rebuilds the context and sets the scenarios up again.
  bool context_lost = false;
  // The buffer strategy the latencies were measured on, when the scenario used one (the
  // daemon's latency histograms are labelled by it).
  std::optional<gpu::strategy> strategy;
  std::vector<std::string> failures;  // every failed check, with its reason

  [[nodiscard]] bool failed() const noexcept { return !failures.empty(); }
  void fail(std::string reason) { failures.push_back(std::move(reason)); }
  // Sums the counts, merges the histograms, keeps the later fragmentation, appends failures
  // (at most max_kept_failures are kept; the count of the rest goes into failures_dropped).
  void merge(const step_result& other);
  static constexpr std::size_t max_kept_failures = 100;
  std::uint64_t failures_dropped = 0;
};

// One placement a scenario's buffers run on: the decision matrix's choice for a usage under the
// context's capabilities and mask (zero-copy where the probe allows, its fallback otherwise).
struct strategy_use {
  gpu::usage use = gpu::usage::stream_to_gpu;
  gpu::strategy strategy = gpu::strategy::staging_copy;
  friend bool operator==(const strategy_use&, const strategy_use&) = default;
};

// Faults a test plants to prove a scenario's checks can fail. A scenario that does not support a
// fault returns false from inject().
enum class fault {
  corrupt_pattern,  // flip a byte in a live pattern-carrying buffer or block
  hold_memory,      // keep buffers that should be released (oom: all of them; leak_cycle: one per cycle)
  gpu_stall,        // conv2d_steady: the next batch's fence wait times out as on a hung GPU (context_lost);
                    // a software rasterizer finishes every dispatch before its fence, so it cannot hang
                    // for real, while a real GPU does with the fence_timeout param (docs/performance.md)
  hot_copy,         // conv2d_steady: each batch's input is copied in (conv2d_session::write_input) instead
                    // of written in place: a copy on the hot path, which zero-copy must report
};

class scenario {
 public:
  virtual ~scenario() = default;

  [[nodiscard]] virtual std::string_view name() const noexcept = 0;
  [[nodiscard]] std::uint64_t seed() const noexcept { return seed_; }

  // Creates what the scenario keeps (buffers, sessions, threads) on ctx's thread. An error means
  // the scenario could not run (not that it failed).
  [[nodiscard]] virtual result<void> setup(gpu::context& ctx) = 0;
  // One bounded unit of work with its checks.
  [[nodiscard]] virtual step_result step(gpu::context& ctx) = 0;
  // Releases everything setup made; final checks (live counts back at baseline) go in the result.
  [[nodiscard]] virtual step_result teardown(gpu::context& ctx) = 0;

  // Test-only: plants `f` for the following steps. Returns whether the scenario supports it.
  virtual bool inject(fault f) {
    (void)f;
    return false;
  }

  // The placements the scenario's buffers got so far (in setup, and in steps that make buffers),
  // each once, in the order first seen. Under a mask they name the fallback the scenario runs on;
  // the runner stores each as an event of the run. Same thread as setup and step.
  [[nodiscard]] const std::vector<strategy_use>& strategies() const noexcept { return strategies_; }

 protected:
  explicit scenario(std::uint64_t seed) noexcept : seed_(seed) {}
  // Adds a placement to strategies() unless it is there already.
  void note_strategy(gpu::usage use, gpu::strategy s);

 private:
  std::uint64_t seed_;
  std::vector<strategy_use> strategies_;
};

// One problem with one scenario parameter: an unknown name, a wrong type or unit, a value out of
// range, a bad conv2d shape.
struct param_problem {
  std::string param;  // the parameter's name as written
  int line = 0;       // its 1-based line in the plan (0 when it did not come from one)
  std::string what;   // what is wrong and what is allowed ("unknown parameter; allowed: ...")
  friend bool operator==(const param_problem&, const param_problem&) = default;
};

// Every problem with params for scenario `name` (one of known_scenarios), in one pass; empty when
// make_scenario would accept them. Needs no GL context and builds nothing on a GPU, so a plan is
// checked whole when it is loaded (parse_plan). An unknown scenario name is one problem with
// param "" listing the known ones. Thread-safe.
[[nodiscard]] std::vector<param_problem> check_scenario_params(std::string_view name, const scenario_params& params);

// Validates params for `name` (one of known_scenarios) with the checks of check_scenario_params and
// builds the scenario. Errors are `validation`, one problem per line: an unknown scenario lists the
// known ones; an unknown param lists the allowed ones; a bad value names the param, its plan line
// and what is allowed ("line 12: fragmentation.params.pool_chnk: unknown parameter; allowed: ...").
[[nodiscard]] result<std::unique_ptr<scenario>> make_scenario(std::string_view name, const scenario_params& params,
                                                              std::uint64_t seed);

// Runs setup, steps until `duration` has elapsed (at least one step), teardown; on_step (if set)
// sees each step's result. Returns the merged result, or setup's error.
struct run_summary {
  step_result total;
  std::uint64_t steps = 0;
  double seconds = 0;
};
[[nodiscard]] result<run_summary> run_for(scenario& s, gpu::context& ctx, std::chrono::nanoseconds duration,
                                          const std::function<void(const step_result&)>& on_step = {});

}  // namespace gpusoak::scenarios
