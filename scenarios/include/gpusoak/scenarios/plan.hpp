// Soak plans: phases of weighted scenarios with durations, plus the run's gate thresholds, read
// from YAML. The whole plan is checked when it is loaded, before anything runs; every error names
// the source, the 1-based line, the field path and what is allowed there:
//   nightly.yaml:14: phases[1].duration: '-5m' is not a duration; use a positive number with us,
//   ms, s, m or h (e.g. 30s, 2h)
//
// Shape (keys not listed here are errors, so typos cannot pass silently):
//   name: nightly                 # required; [A-Za-z0-9_-]+
//   description: text             # optional
//   devices: [0]                  # optional; EGL device indices, unique, >= 0; default [0]
//   sample_interval: 5s           # optional; how often the run store samples; default 5s
//   phases:                       # required, at least one; run in order; 100000h at most in all
//     - name: warmup              # required; [A-Za-z0-9_-]+, unique within the plan
//       duration: 2m              # required; > 0 (us, ms, s, m, h)
//       scenarios:                # required, at least one; share the phase by weight
//         - name: conv2d_steady   # required; one of known_scenarios
//           weight: 1             # optional; a number > 0; default 1
//           params: {path: zero-copy, shapes: ["N1 C3 32x32 K16 3x3 p1"]}
//                                 # optional; a map of scalars or lists of scalars, kept as text:
//                                 # each scenario checks its own parameters when it is set up
//   thresholds:                   # optional; see threshold.hpp for the grammar; each must name a
//                                 # series a scenario of the plan produces (metric_catalog.hpp)
//     - "p99(conv2d_latency_seconds) < 50ms"
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gpusoak/buffers/error.hpp"
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
  [[nodiscard]] gpu::result<plan> scaled(double factor) const;

  friend bool operator==(const plan&, const plan&) = default;
};

// Parses and validates a plan from YAML text; the first problem found is the error (kind
// validation; internal only if yaml-cpp fails in an unexpected way). source_name is used in
// messages only. Never throws: yaml-cpp's exceptions are caught here and turned into errors with
// their line. Thread-safe (no shared state).
[[nodiscard]] gpu::result<plan> parse_plan(std::string_view text, std::string_view source_name);

// One message per threshold operand that names a series no scenario of the plan produces
// (metric_catalog's producers), or a scenario no phase runs, formatted like parse_plan's errors:
//   release.yaml:52: thresholds[6]: fragmentation_ratio is produced only by fragmentation, which no
//   phase of this plan runs
// Empty when every threshold can see data. parse_plan calls it.
[[nodiscard]] std::vector<std::string> check_threshold_coverage(const plan& p);

// Reads path and parses it; errors name the path as given. A file that cannot be read is an error
// naming the reason.
[[nodiscard]] gpu::result<plan> load_plan_file(const std::filesystem::path& path);

// Loads plans_dir/<name>.yaml. name must match [A-Za-z0-9_-]+ (no '/', no '..', not empty), so a
// name from an HTTP request cannot leave plans_dir; anything else is a validation error before the
// file system is touched. A missing plan is an error listing the plans that exist.
[[nodiscard]] gpu::result<plan> load_named_plan(const std::filesystem::path& plans_dir, std::string_view name);

// Whether name is a valid plan name: [A-Za-z0-9_-]+.
[[nodiscard]] bool is_valid_plan_name(std::string_view name) noexcept;

}  // namespace gpusoak::scenarios
