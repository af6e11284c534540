// The daemon's run store: one SQLite file holding runs, their phases, samples, events and
// verdicts, written as they happen so that a kill -9 loses at most the sample being written.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
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
[[nodiscard]] std::string_view to_string(run_state state) noexcept;
// Errors (validation) name the text and the allowed values.
[[nodiscard]] result<run_state> parse_run_state(std::string_view text);

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
    std::string status;     // "passed", "failed" or "no_data"
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

// What the connection actually runs with (read back from SQLite, not from our own settings).
struct store_settings {
  std::string journal_mode;  // "wal"
  int synchronous = 0;       // 2 = FULL
  bool foreign_keys = false;
  int busy_timeout_ms = 0;
  int schema_version = 0;
  int cache_kib = 0;  // SQLite's page cache cap
};

// The run store. Errors, by kind, each naming the id, the states or the SQL step:
//   not_found     the run id names no run;
//   conflict      the run's state forbids the call (already running, already final, not running);
//   validation    a malformed argument (a negative phase index, a non-finite time, bad JSON);
//   unsupported   the file is from a newer gpusoak (schema version above ours);
//   out_of_space  a write failed for lack of space (SQLITE_FULL, ENOSPC, EDQUOT, EFBIG);
//   io            SQLite could not read or write the file (unreadable, read-only, corrupt);
//   internal      a stored value this code cannot read back.
// A refused call changes nothing. Every write is one transaction: after a failure it is rolled
// back, everything committed before it stays, and the store remains usable (reads at least).
//
// Durability: each mutating call has committed (WAL, synchronous=FULL: fsynced) when it
// returns success; a process killed at any point loses only the call in flight.
//
// Thread safety: one SQLite connection per store, every call serialised by an internal mutex,
// so the io_context thread and GPU workers may share one store. Writers are few and small (a
// sample every few seconds per worker), so one connection costs nothing and keeps SQLite's
// locking out of our way. One process per file: recover_interrupted() assumes no other
// process is writing runs to it. A moved-from store may only be destroyed or assigned to.
// Do not fork() with a store open (SQLite's rule): open one in the child instead.
class run_store {
 public:
  // Opens (creating if needed) the store at `path` and its schema. A file of an older schema
  // version is migrated in place, in one transaction (version 1 -> 2: provenance columns,
  // strategies, saved evaluations; plan hashes computed for the runs it holds).
  // Errors start "run store '<path>': ": io for a file SQLite cannot open, read or write (a
  // directory, no permission, not a database), out_of_space when the schema does not fit.
  [[nodiscard]] static result<run_store> open(const std::string& path);

  run_store(run_store&&) noexcept;
  run_store& operator=(run_store&&) noexcept;
  run_store(const run_store&) = delete;
  run_store& operator=(const run_store&) = delete;
  ~run_store();  // closes the connection; committed data is already on disk

  // Stores a queued run; its id is "r-YYYYMMDD-NNNN" (created_at's UTC date, a daily counter).
  [[nodiscard]] result<std::string> create_run(const run_spec& spec);
  // queued -> running (sets started_at), or interrupted -> running (a resume: keeps
  // started_at and elapsed_seconds).
  [[nodiscard]] result<void> mark_running(std::string_view id, timestamp started_at);
  // The run must be running. A phase index may start again only while it has not ended (a
  // resume restarts it: state back to running, started_at kept).
  [[nodiscard]] result<void> record_phase_start(std::string_view id, std::int64_t index, std::string_view name,
                                                timestamp started_at);
  // The phase must be running and `state` an outcome (not running).
  [[nodiscard]] result<void> record_phase_end(std::string_view id, std::int64_t index, phase_state state,
                                              timestamp ended_at);
  // The run must be running; t_seconds finite and >= 0.
  [[nodiscard]] result<void> append_sample(std::string_view id, const sample& s);
  // Any run that is not final (events about a failed start are welcome on a queued run).
  [[nodiscard]] result<void> append_event(std::string_view id, const event& e);
  // The run's own verdicts, written by its runner before finish_run: replaces any stored ones
  // while the run is not final; once it is final they never change (validation error). Ad-hoc
  // evaluations go to save_evaluation.
  [[nodiscard]] result<void> record_verdicts(std::string_view id, const std::vector<threshold_result>& results);
  // Records the run's context: the GL strings and the usage strategies, once (a later call, from a
  // resume or a watchdog rebuild, changes nothing and returns false; the caller compares with
  // get_run's provenance). Sets the mask where the run had none. Any state that is not final.
  [[nodiscard]] result<bool> record_context(std::string_view id, const context_facts& facts);
  // Adds a strategy a scenario reported (once per scenario and strategy); any state that is not final.
  [[nodiscard]] result<void> record_scenario_strategy(std::string_view id, std::string_view scenario,
                                                      std::string_view strategy);
  // Stores an ad-hoc evaluation of the run (any state; its verdicts stay as they are) and returns
  // its id. Rows' statuses must be passed, failed or no_data.
  [[nodiscard]] result<std::int64_t> save_evaluation(std::string_view id, const stored_evaluation& evaluation);
  // Moves the run to a final state (see run_state's transitions), sets ended_at and
  // elapsed_seconds (the larger of the stored one and the last sample's t).
  [[nodiscard]] result<void> finish_run(std::string_view id, run_state final_state, std::string_view reason,
                                        timestamp ended_at);

  [[nodiscard]] result<run_record> get_run(std::string_view id);
  // Newest first (created_at, then id); limit > 0.
  [[nodiscard]] result<std::vector<run_record>> list_runs(std::int64_t limit);
  // Samples with t_seconds > after_t (all when absent), in insertion order.
  [[nodiscard]] result<std::vector<sample>> samples(std::string_view id, std::optional<double> after_t = {});
  [[nodiscard]] result<std::vector<event>> events(std::string_view id);
  [[nodiscard]] result<std::vector<phase_record>> phases(std::string_view id);
  [[nodiscard]] result<std::vector<threshold_result>> verdicts(std::string_view id);
  // Saved ad-hoc evaluations, oldest first.
  [[nodiscard]] result<std::vector<stored_evaluation>> evaluations(std::string_view id);

  // running -> interrupted (the daemon shutting down mid-run): elapsed_seconds becomes the last
  // sample's t and running phases become interrupted, so a later start resumes the run.
  [[nodiscard]] result<void> mark_interrupted(std::string_view id);

  // Runs currently in state interrupted (recovered earlier and not yet resumed or finished).
  [[nodiscard]] result<std::vector<run_record>> interrupted_runs();
  // Call once at daemon start-up: every run still `running` belonged to a process that died;
  // marks it interrupted (its running phases too), sets elapsed_seconds to its last sample's
  // t, and returns those runs so the daemon can resume each from last_sample_t. One
  // transaction: all or none.
  [[nodiscard]] result<std::vector<run_record>> recover_interrupted();

  // Set while writes fail for lack of space: the disk is full (SQLITE_FULL, ENOSPC), a quota is
  // used up (EDQUOT) or the process's file size limit is reached (EFBIG; the daemon ignores
  // SIGXFSZ). The text starts "disk full: ", names the file and what to do; the failed call's
  // error is kind out_of_space with the same text. Cleared by the next call that changes rows (a
  // small write may fit where the failed one did not). Reads go on working meanwhile.
  [[nodiscard]] std::optional<std::string> out_of_space() const;

  // PRAGMA integrity_check; `internal` with SQLite's findings when it is not "ok".
  [[nodiscard]] result<void> integrity_check();
  [[nodiscard]] result<store_settings> settings();

  // The schema version this build writes and reads.
  static constexpr int schema_version = 2;
  // SQLite's page cache cap per connection, KiB (its default, 2,000, takes an hour of samples to fill).
  static constexpr int page_cache_kib = 256;

 private:
  struct impl;
  explicit run_store(std::unique_ptr<impl> p) noexcept;
  static result<run_store> open_at(const std::string& path);  // open, its errors without the path
  std::unique_ptr<impl> impl_;
};

}  // namespace gpusoak::harness
