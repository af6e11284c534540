// Soak plans: phases of weighted scenarios with durations, plus the run's gate thresholds, read
// from YAML. The whole plan is checked when it is loaded, before anything runs: its shape, and every
// scenario's parameters in every phase (check_scenario_params: names, types, units, ranges, conv2d
// shapes). Every problem is listed at once, one a line, each naming the source, the 1-based line,
// the field path and what is allowed there:
//   nightly.yaml:14: phases[1].duration: '-5m' is not a duration; use a positive number with us,
//   ms, s, m or h (e.g. 30s, 2h)
//   nightly.yaml:31: phases[2].scenarios[1].params.max_blok: unknown parameter; allowed: pool_chunk,
//   max_block, max_chunks
//
// Shape (keys not listed here are errors, so typos cannot pass silently):
//   name: nightly                 # required; [A-Za-z0-9_-]+
//   description: text             # optional
//   devices: [0]                  # optional; EGL device indices, unique, 0..255; default [0]; a run
//                                 # needs each present (check_plan_devices)
//   sample_interval: 5s           # optional; how often the run store samples; default 5s
//   phases:                       # required, at least one; run in order; 100000h at most in all
//     - name: warmup              # required; [A-Za-z0-9_-]+, unique within the plan
//       duration: 2m              # required; > 0 (us, ms, s, m, h)
//       scenarios:                # required, at least one; share the phase by weight
//         - name: conv2d_steady   # required; one of known_scenarios
//           weight: 1             # optional; a number > 0; default 1
//           params: {path: zero-copy, shapes: ["N1 C3 32x32 K16 3x3 p1"]}
//                                 # optional; a map of scalars or lists of scalars, kept as text and
//                                 # checked here by the scenario's own rules (check_scenario_params)
//   thresholds:                   # optional; see threshold.hpp for the grammar; each must name a
//                                 # series a scenario of the plan produces (metric_catalog.hpp)
//     - "p99(conv2d_latency_seconds) < 50ms"
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gpusoak/error.hpp"
#include "gpusoak/scenarios/scenario_names.hpp"  // known_scenarios
#include "gpusoak/scenarios/threshold.hpp"

namespace gpusoak::scenarios {

// One scenario parameter as written. A scalar is one item with is_list false.
struct param_value {
  std::vector<std::string> items;
  bool is_list = false;
  int line = 0;  // 1-based line in the plan, for the scenario's own error messages
  friend bool operator==(const param_value&, const param_value&) = default;
};

struct scenario_entry {
  std::string name;   // one of known_scenarios
  double weight = 1;  // > 0; a phase's time is shared in proportion to its scenarios' weights
  std::map<std::string, param_value, std::less<>> params;
  int line = 0;  // 1-based line of the entry
  friend bool operator==(const scenario_entry&, const scenario_entry&) = default;
};

struct phase {
  std::string name;
  std::chrono::microseconds duration{0};  // > 0
  std::vector<scenario_entry> scenarios;  // not empty
  int line = 0;
  friend bool operator==(const phase&, const phase&) = default;
};

struct plan {
  std::string name;
  std::string description;
  std::vector<int> devices{0};                                          // not empty, unique, each >= 0
  std::chrono::microseconds sample_interval = std::chrono::seconds(5);  // > 0
  std::vector<phase> phases;                                            // not empty
  std::vector<threshold> thresholds;                                    // may be empty
  std::vector<int> threshold_lines;  // 1-based line of each threshold in source; empty when not from YAML
  std::string source;                // where it was read from ("nightly.yaml", "<request>"), for messages

  // Sum of the phase durations.
  [[nodiscard]] std::chrono::microseconds total_duration() const;

  // The same plan with every phase duration multiplied by factor (--time-scale), rounded to the
  // nearest microsecond and never below 1us. The sample interval scales too, but not below
  // min(its original value, 100ms), so a shrunk plan does not sample in a busy loop. Fails
  // (validation) when factor is not a finite number > 0, or when a phase or the whole plan would
  // last over 2^62us (so total_duration() cannot overflow); the plan is unchanged either way.
  [[nodiscard]] result<plan> scaled(double factor) const;

  friend bool operator==(const plan&, const plan&) = default;
};

// Parses and validates a plan from YAML text. The error (kind validation; internal only if yaml-cpp
// fails in an unexpected way) lists every problem found, one a line in plan order, each in the
// form above (problem_lines splits them); malformed YAML is one problem, since nothing after it
// can be read. source_name is used in messages only. Never throws: yaml-cpp's exceptions are
// caught here and turned into errors with their line. Thread-safe (no shared state).
[[nodiscard]] result<plan> parse_plan(std::string_view text, std::string_view source_name);

// A threshold operand that names a series no scenario of the plan produces (metric_catalog's
// producers), or a scenario no phase runs. parse_plan reports each like its other problems:
//   release.yaml:52: thresholds[6]: fragmentation_ratio is produced only by fragmentation, which no
//   phase of this plan runs
struct threshold_coverage_problem {
  std::size_t index = 0;  // into plan::thresholds
  std::string what;       // "fragmentation_ratio is produced only by ..."
};
// Empty when every threshold can see data.
[[nodiscard]] std::vector<threshold_coverage_problem> check_threshold_coverage(const plan& p);

// Reads path and parses it; errors name the path as given: not_found when the file does not
// exist, io when it cannot be read (no permission, a directory), validation when it does not
// parse (as parse_plan).
[[nodiscard]] result<plan> load_plan_file(const std::filesystem::path& path);

// The file of the plan called name: <dir>/<name>.yaml in the first of plans_dirs that has it, so an
// earlier folder wins a clash (a user's folder before the shipped plans). name must match
// [A-Za-z0-9_-]+ (no '/', no '..', not empty), so a name from an HTTP request cannot leave the
// folders; anything else is a validation error before the file system is touched. A missing plan is
// not_found, naming every folder searched and listing the plans they hold.
[[nodiscard]] result<std::filesystem::path> find_named_plan(std::span<const std::filesystem::path> plans_dirs,
                                                            std::string_view name);

// Loads the plan find_named_plan finds in plans_dir alone.
[[nodiscard]] result<plan> load_named_plan(const std::filesystem::path& plans_dir, std::string_view name);

// Whether name is a valid plan name: [A-Za-z0-9_-]+.
[[nodiscard]] bool is_valid_plan_name(std::string_view name) noexcept;

// The problems of an error from this header, one per element (its message split at newlines), for
// callers that list them (the daemon's 400 body).
[[nodiscard]] std::vector<std::string> problem_lines(std::string_view message);

// The runner stores a sample for each scenario of a phase at every sample_interval tick before
// the phase ends and one when it ends (a step longer than an interval skips ticks), so a phase of
// d gets ceil(d / interval) of them. A phase shorter than this many intervals cannot be gated (a
// quantile or a slope over 2 points says nothing), so a run of it is refused.
inline constexpr int min_samples_per_phase = 3;
// The longest plan a run may have, time scale applied.
inline constexpr std::chrono::hours max_run_duration{100'000};

// The plan a run of `p` at time scale `factor` runs: p.scaled(factor), refused (validation, every
// problem one a line) when it would last over max_run_duration, or when some phase is shorter
// than min_samples_per_phase of its (scaled) sample interval; the messages say which time scales
// work ("phases[1] (churn) lasts 600us at time scale 1e-05; each scenario needs at least 3
// samples of 100ms in each phase to be gated: use a time scale >= 0.015"). A stored run is resumed with scaled(),
// which these rules do not bind.
[[nodiscard]] result<plan> scale_for_run(const plan& p, double factor);

// Fails (validation) when the plan names an EGL device index that is not below `present`, the
// number of devices a run can open here; the message names each such index and how many exist.
[[nodiscard]] result<void> check_plan_devices(const plan& p, std::size_t present);

}  // namespace gpusoak::scenarios
