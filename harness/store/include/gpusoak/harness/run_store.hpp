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
#include "gpusoak/harness/run_model.hpp"

namespace gpusoak::harness {

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
  // strategies, saved evaluations; plan hashes computed for the runs it holds; 2 -> 3: the sample's
  // phase, unset for the samples it holds).
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
  // The run must be running; t_seconds finite and >= 0, phase (when set) >= 0.
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
  // its id. Rows' statuses must be passed, failed, no_data or not_enough_data.
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
  static constexpr int schema_version = 4;
  // SQLite's page cache cap per connection, KiB (its default, 2,000, takes an hour of samples to fill).
  static constexpr int page_cache_kib = 256;

 private:
  struct impl;
  explicit run_store(std::unique_ptr<impl> p) noexcept;
  static result<run_store> open_at(const std::string& path);  // open, its errors without the path
  std::unique_ptr<impl> impl_;
};

}  // namespace gpusoak::harness
