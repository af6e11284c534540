// What a soak run is, as the store keeps it and every layer above reads it: the run and its
// states, phases, samples, events, verdicts and provenance. Plain values; no I/O.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gpusoak/error.hpp"

namespace gpusoak::harness {

// Wall-clock instants, stored as integer milliseconds since the Unix epoch (UTC).
using timestamp = std::chrono::sys_time<std::chrono::milliseconds>;
[[nodiscard]] timestamp now_timestamp() noexcept;

// A run's state changes only through the store's transition check; the legal transitions:
//   1. queued      -> running                                   (mark_running)
//   2. interrupted -> running                                   (mark_running: a resume)
//   3. running     -> interrupted       (recover_interrupted at start-up; mark_interrupted on shutdown)
//   4. queued|running|interrupted -> passed|failed|could_not_run|aborted   (finish_run)
// passed, failed, could_not_run and aborted are final: nothing leaves them.
enum class run_state { queued, running, passed, failed, could_not_run, aborted, interrupted };
inline constexpr std::array all_run_states{run_state::queued,     run_state::running,       run_state::passed,
                                           run_state::failed,     run_state::could_not_run, run_state::aborted,
                                           run_state::interrupted};
[[nodiscard]] std::string_view to_string(run_state state) noexcept;
// Errors (validation) name the text and the allowed values.
[[nodiscard]] result<run_state> parse_run_state(std::string_view text);
// passed, failed, could_not_run and aborted.
[[nodiscard]] bool is_final(run_state state) noexcept;
// What a command that waited for the run exits with (exit_codes.hpp): pass, fail, aborted, else
// could not run.
[[nodiscard]] int exit_code_for(run_state state) noexcept;

// A phase is running until record_phase_end gives its outcome; recover_interrupted marks the
// phases of an interrupted run interrupted.
enum class phase_state { running, passed, failed, aborted, interrupted };
[[nodiscard]] std::string_view to_string(phase_state state) noexcept;
[[nodiscard]] result<phase_state> parse_phase_state(std::string_view text);

// What create_run needs; the store assigns the id and the state (queued), and hashes plan_text
// (run_provenance::plan_sha256).
struct run_spec {
  std::string plan_name;
  std::string plan_text;  // the plan as submitted (YAML), so a run can be resumed or re-gated
  std::string device;     // the EGL device / GPU the run is bound to
  double time_scale = 1.0;
  timestamp created_at = now_timestamp();
  // The capability mask the run's contexts get, canonical (gpu::apply_mask's `masked`:
  // "buffer_storage,coherent"; "" for none). Unset: not known yet; record_context fills it.
  std::optional<std::string> mask;
  std::string gpusoak_version;  // the gpusoak that runs it (build_info.hpp); "" when not known
  std::string gpusoak_commit;
};

// What a strategy record is about: a usage, as the decision matrix chose for the run's context
// (gpu::choose_strategy under its mask), or a scenario, as its steps reported it
// (scenarios::step_result::strategy).
enum class strategy_subject { usage, scenario };
[[nodiscard]] std::string_view to_string(strategy_subject subject) noexcept;
[[nodiscard]] result<strategy_subject> parse_strategy_subject(std::string_view text);

struct strategy_record {
  strategy_subject subject = strategy_subject::usage;
  std::string name;      // the usage ("stream_to_gpu") or the scenario ("conv2d_steady")
  std::string strategy;  // gpu::to_string(strategy): "persistent_coherent", "staging_copy", ...
  bool operator==(const strategy_record&) const = default;
};

// The GL context a run ran on, as its runner found the first one (record_context).
struct context_facts {
  std::string mask;  // canonical, as run_spec::mask ("" for none)
  std::string gl_vendor;
  std::string gl_renderer;
  std::string gl_version;                         // carries the driver version on most drivers
  std::string vendor_class;                       // gpu::vendor_class ("nvidia", "mesa_software", ...)
  std::vector<strategy_record> usage_strategies;  // subject usage, one per gpu::all_usages
  bool operator==(const context_facts&) const = default;
};

// What a run ran (schema version 2). Runs stored by schema version 1 read back with mask unset and
// the other texts empty, except plan_sha256, which the migration computes from their plan text.
struct run_provenance {
  std::optional<std::string> mask;  // "" for none; unset when not recorded
  std::string gpusoak_version;      // "" when not recorded (here and below)
  std::string gpusoak_commit;
  std::string plan_sha256;  // SHA-256 of plan_text, 64 hex digits
  // From the run's first context (context_facts); "" until the runner made one.
  std::string gl_vendor;
  std::string gl_renderer;
  std::string gl_version;
  std::string vendor_class;
  // Usages in the order recorded (gpu::all_usages), then scenarios in the order first seen; a
  // scenario may have several (a fallback after a context rebuild).
  std::vector<strategy_record> strategies;
  bool operator==(const run_provenance&) const = default;
};

// One row per sample interval (and per scenario/context, when the daemon samples them apart).
struct sample {
  double t_seconds = 0;  // run-elapsed time, carried over a resume
  std::string scenario;
  std::string context;
  std::int64_t live_buffers = 0;
  std::int64_t live_bytes = 0;
  std::int64_t rss_bytes = 0;
  std::int64_t copies_total = 0;
  std::int64_t errors_total = 0;
  double latency_p50_seconds = 0;
  double latency_p90_seconds = 0;
  double latency_p99_seconds = 0;
  std::int64_t iterations = 0;
  std::string extra_json = "{}";  // further figures, a JSON object; stored as given
  // The plan's phase (index from 0) the sample was taken in; unset for samples stored before the
  // store kept it (schema version 2 and older). Leak slopes are fitted per phase.
  std::optional<std::int64_t> phase;
  bool operator==(const sample&) const = default;
};

struct event {
  double t_seconds = 0;  // run-elapsed
  std::string level;     // "info", "warn", "error"
  std::string scenario;  // empty for run-wide events
  std::string message;
  bool operator==(const event&) const = default;
};

struct phase_record {
  std::int64_t index = 0;
  std::string name;
  phase_state state = phase_state::running;
  timestamp started_at{};
  std::optional<timestamp> ended_at;
  bool operator==(const phase_record&) const = default;
};

// One gate threshold evaluated on a run ("p99(op_latency_seconds) < 200us").
struct threshold_result {
  std::string threshold;
  double observed = 0;
  bool passed = false;
  bool operator==(const threshold_result&) const = default;
};

// An ad-hoc gate evaluation (`gpusoak gate --save`), kept beside the run's own verdicts and never
// replacing them. Rows as the gate printed them.
struct stored_evaluation {
  struct row {
    std::string threshold;  // canonical text
    std::string status;     // "passed", "failed", "no_data" or "not_enough_data"
    std::optional<double> observed;
    std::optional<double> limit;
    std::string detail;
    bool operator==(const row&) const = default;
  };
  std::int64_t id = 0;  // assigned by save_evaluation, increasing
  timestamp evaluated_at{};
  std::string basis;  // where its thresholds came from, e.g. "plan + --threshold", "--only"
  double warmup_fraction = 0.1;
  int exit_code = 2;  // the gate's exit code for it
  std::vector<row> rows;
  bool operator==(const stored_evaluation&) const = default;
};

struct run_record {
  std::string id;
  std::string plan_name;
  std::string plan_text;
  std::string device;
  run_state state = run_state::queued;
  timestamp created_at{};
  std::optional<timestamp> started_at;  // first start; a resume keeps it
  std::optional<timestamp> ended_at;
  double elapsed_seconds = 0;  // run-elapsed time reached; after a crash, the last sample's t
  double time_scale = 1.0;
  std::string verdict_reason;
  // Derived on read (always consistent with the tables).
  std::int64_t phase_count = 0;
  std::int64_t sample_count = 0;
  std::int64_t event_count = 0;
  std::int64_t verdict_count = 0;
  std::optional<double> last_sample_t;  // where a resumed run goes on from
  run_provenance provenance;
};

}  // namespace gpusoak::harness
