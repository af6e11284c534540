#include "gpusoak/harness/run_store.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <ctime>
#include <mutex>
#include <utility>

#include "gpusoak/harness/sha256.hpp"
#include "sqlite_db.hpp"

namespace gpusoak::harness {

using detail::database;
using detail::statement;
using detail::transaction;

namespace {

// The transitions listed on run_state, and nothing else.
bool transition_allowed(run_state from, run_state to) noexcept {
  switch (to) {
    case run_state::running: return from == run_state::queued || from == run_state::interrupted;  // 1, 2
    case run_state::interrupted: return from == run_state::running;                               // 3
    case run_state::queued: return false;
    default:
      return is_final(to) &&
             (from == run_state::queued || from == run_state::running || from == run_state::interrupted);  // 4
  }
}

std::int64_t to_millis(timestamp t) noexcept {
  return t.time_since_epoch().count();
}
timestamp from_millis(std::int64_t ms) noexcept {
  return timestamp(std::chrono::milliseconds(ms));
}
std::optional<timestamp> from_millis(std::optional<std::int64_t> ms) noexcept {
  if (!ms) return std::nullopt;
  return from_millis(*ms);
}

// Version 1. Timestamps are integer milliseconds since the epoch (UTC); run-elapsed times are
// REAL seconds. Child rows go with their run (ON DELETE CASCADE) so a purge stays consistent.
constexpr std::string_view schema_v1 = R"sql(
CREATE TABLE runs (
  id TEXT PRIMARY KEY NOT NULL,
  plan_name TEXT NOT NULL,
  plan_text TEXT NOT NULL,
  device TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued','running','passed','failed','could_not_run','aborted','interrupted')),
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  ended_at INTEGER,
  elapsed_seconds REAL NOT NULL DEFAULT 0,
  time_scale REAL NOT NULL,
  verdict_reason TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX runs_by_created ON runs (created_at, id);
CREATE INDEX runs_by_state ON runs (state);
CREATE TABLE phases (
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  name TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  state TEXT NOT NULL CHECK (state IN ('running','passed','failed','aborted','interrupted')),
  PRIMARY KEY (run_id, idx)
) STRICT;
CREATE TABLE samples (
  seq INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  t_seconds REAL NOT NULL,
  scenario TEXT NOT NULL,
  context TEXT NOT NULL,
  live_buffers INTEGER NOT NULL,
  live_bytes INTEGER NOT NULL,
  rss_bytes INTEGER NOT NULL,
  copies_total INTEGER NOT NULL,
  errors_total INTEGER NOT NULL,
  latency_p50_seconds REAL NOT NULL,
  latency_p90_seconds REAL NOT NULL,
  latency_p99_seconds REAL NOT NULL,
  iterations INTEGER NOT NULL,
  extra_json TEXT NOT NULL CHECK (json_valid(extra_json))
) STRICT;
CREATE INDEX samples_by_run_t ON samples (run_id, t_seconds);
CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  t_seconds REAL NOT NULL,
  level TEXT NOT NULL,
  scenario TEXT NOT NULL,
  message TEXT NOT NULL
) STRICT;
CREATE INDEX events_by_run_t ON events (run_id, t_seconds);
CREATE TABLE verdicts (
  seq INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  threshold TEXT NOT NULL,
  observed REAL NOT NULL,
  passed INTEGER NOT NULL CHECK (passed IN (0, 1))
) STRICT;
CREATE INDEX verdicts_by_run ON verdicts (run_id);
)sql";

// Version 2: what a run ran (run_provenance), and ad-hoc gate evaluations kept apart from the
// run's own verdicts. Applied to a new store after version 1, and to a version 1 file as its
// migration; columns added to runs have defaults, so version 1 rows stay valid. mask stays NULL
// for them: which mask they ran under was never recorded ('' means none).
constexpr std::string_view schema_v2 = R"sql(
ALTER TABLE runs ADD COLUMN mask TEXT;
ALTER TABLE runs ADD COLUMN gpusoak_version TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN gpusoak_commit TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN plan_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN gl_vendor TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN gl_renderer TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN gl_version TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN vendor_class TEXT NOT NULL DEFAULT '';
CREATE TABLE strategies (
  seq INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  subject TEXT NOT NULL CHECK (subject IN ('usage','scenario')),
  name TEXT NOT NULL,
  strategy TEXT NOT NULL,
  UNIQUE (run_id, subject, name, strategy)
) STRICT;
CREATE TABLE evaluations (
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  evaluated_at INTEGER NOT NULL,
  basis TEXT NOT NULL,
  warmup_fraction REAL NOT NULL,
  exit_code INTEGER NOT NULL
) STRICT;
CREATE INDEX evaluations_by_run ON evaluations (run_id);
CREATE TABLE evaluation_rows (
  evaluation_id INTEGER NOT NULL REFERENCES evaluations (id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  threshold TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('passed','failed','no_data')),
  observed REAL,
  limit_value REAL,
  detail TEXT NOT NULL,
  PRIMARY KEY (evaluation_id, idx)
) STRICT;
)sql";

// Version 3: an evaluation row may be not_enough_data (the gate had too few ops or samples for
// the statistic). SQLite cannot change a CHECK in place, so the table is rebuilt with its rows.
constexpr std::string_view schema_v3 = R"sql(
CREATE TABLE evaluation_rows_v3 (
  evaluation_id INTEGER NOT NULL REFERENCES evaluations (id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  threshold TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('passed','failed','no_data','not_enough_data')),
  observed REAL,
  limit_value REAL,
  detail TEXT NOT NULL,
  PRIMARY KEY (evaluation_id, idx)
) STRICT;
INSERT INTO evaluation_rows_v3 (evaluation_id, idx, threshold, status, observed, limit_value, detail)
  SELECT evaluation_id, idx, threshold, status, observed, limit_value, detail FROM evaluation_rows;
DROP TABLE evaluation_rows;
ALTER TABLE evaluation_rows_v3 RENAME TO evaluation_rows;
)sql";

// Version 4: the phase each sample was taken in (the plan's phase index), so a leak slope is fitted
// per phase: a phase that holds memory and a later one that releases it must not hide a leak in a
// third. NULL for samples stored before (the gate then fits the run as one span and says so).
constexpr std::string_view schema_v4 = R"sql(
ALTER TABLE samples ADD COLUMN phase INTEGER;
)sql";

// The columns read_run reads, in its order; counts are derived so they cannot drift.
#define GPUSOAK_RUN_SELECT                                                                                          \
  "SELECT id, plan_name, plan_text, device, state, created_at, started_at, ended_at, elapsed_seconds, time_scale, " \
  "verdict_reason, "                                                                                                \
  "(SELECT COUNT(*) FROM phases WHERE run_id = runs.id), "                                                          \
  "(SELECT COUNT(*) FROM samples WHERE run_id = runs.id), "                                                         \
  "(SELECT COUNT(*) FROM events WHERE run_id = runs.id), "                                                          \
  "(SELECT COUNT(*) FROM verdicts WHERE run_id = runs.id), "                                                        \
  "(SELECT MAX(t_seconds) FROM samples WHERE run_id = runs.id), "                                                   \
  "mask, gpusoak_version, gpusoak_commit, plan_sha256, gl_vendor, gl_renderer, gl_version, vendor_class, "          \
  "(SELECT json_group_array(json_array(seq, subject, name, strategy)) FROM strategies WHERE run_id = runs.id) "     \
  "FROM runs "

// The strategies column of the run queries: [[seq, subject, name, strategy], ...], any order.
result<std::vector<strategy_record>> read_strategies(std::string_view run_id, const std::string& text) {
  const auto rows = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto bad = [&] {
    return make_error(error_kind::internal, fmt::format("run '{}': bad strategies '{}'", run_id, text));
  };
  if (!rows.is_array()) return bad();
  std::vector<std::pair<std::int64_t, strategy_record>> read;
  for (const auto& r : rows) {
    if (!r.is_array() || r.size() != 4 || !r[0].is_number_integer() || !r[1].is_string() || !r[2].is_string() ||
        !r[3].is_string())
      return bad();
    auto subject = parse_strategy_subject(r[1].get<std::string>());
    if (!subject) return bad();
    read.emplace_back(
        r[0].get<std::int64_t>(),
        strategy_record{.subject = *subject, .name = r[2].get<std::string>(), .strategy = r[3].get<std::string>()});
  }
  std::ranges::sort(read, {}, &std::pair<std::int64_t, strategy_record>::first);
  std::vector<strategy_record> out;
  for (auto& [seq, record] : read) out.push_back(std::move(record));
  return out;
}

// Reads a row of the run queries above.
result<run_record> read_run(const statement& row) {
  auto state = parse_run_state(row.column_text(4));
  if (!state)
    return make_error(error_kind::internal, fmt::format("run '{}': {}", row.column_text(0), state.error().message));
  GPUSOAK_TRY_ASSIGN(auto strategies, read_strategies(row.column_text(0), row.column_text(24)));
  return run_record{
      .id = row.column_text(0),
      .plan_name = row.column_text(1),
      .plan_text = row.column_text(2),
      .device = row.column_text(3),
      .state = *state,
      .created_at = from_millis(row.column_int64(5)),
      .started_at = from_millis(row.column_optional_int64(6)),
      .ended_at = from_millis(row.column_optional_int64(7)),
      .elapsed_seconds = row.column_double(8),
      .time_scale = row.column_double(9),
      .verdict_reason = row.column_text(10),
      .phase_count = row.column_int64(11),
      .sample_count = row.column_int64(12),
      .event_count = row.column_int64(13),
      .verdict_count = row.column_int64(14),
      .last_sample_t = row.column_optional_double(15),
      .provenance =
          {
              .mask = row.column_is_null(16) ? std::nullopt : std::optional<std::string>(row.column_text(16)),
              .gpusoak_version = row.column_text(17),
              .gpusoak_commit = row.column_text(18),
              .plan_sha256 = row.column_text(19),
              .gl_vendor = row.column_text(20),
              .gl_renderer = row.column_text(21),
              .gl_version = row.column_text(22),
              .vendor_class = row.column_text(23),
              .strategies = std::move(strategies),
          },
  };
}

// Runs every row of `stmt` through `read`, collecting the results.
template <class T, class Read>
result<std::vector<T>> collect(statement& stmt, Read read) {
  std::vector<T> rows;
  for (;;) {
    GPUSOAK_TRY_ASSIGN(auto more, stmt.step());
    if (!more) return rows;
    GPUSOAK_TRY_ASSIGN(auto value, read(stmt));
    rows.push_back(std::move(value));
  }
}

result<std::vector<run_record>> read_runs(statement& stmt) {
  return collect<run_record>(stmt, read_run);
}

// "r-YYYYMMDD-" for the UTC date of `t`.
std::string id_prefix(timestamp t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("r-{:04}{:02}{:02}-", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday);
}

}  // namespace

struct run_store::impl {
  explicit impl(database d) : db(std::move(d)) {}

  std::mutex mutex;  // guards db and out_of_space: one call at a time on the connection
  database db;
  std::optional<std::string> out_of_space;  // why the last writes failed, until one changes rows again

  // Watches one write call (made with the mutex held): a failure for lack of space is remembered
  // in out_of_space; a call that changed rows clears it. Reads and refused calls leave it.
  class write_watch {
   public:
    explicit write_watch(impl& store) : store_(store), changes_before_(store.db.total_changes()) {
      store.db.forget_failure();
    }
    ~write_watch() {
      if (store_.db.out_of_space()) {
        store_.out_of_space = store_.db.out_of_space_message();
      } else if (store_.db.total_changes() != changes_before_) {
        store_.out_of_space.reset();
      }
    }
    write_watch(const write_watch&) = delete;
    write_watch& operator=(const write_watch&) = delete;

   private:
    impl& store_;
    std::int64_t changes_before_;
  };

  // The run's state, or a not_found error naming the unknown id.
  result<run_state> state_of(std::string_view id) {
    GPUSOAK_TRY_ASSIGN(auto stmt, db.prepare("SELECT state FROM runs WHERE id = ?1"));
    GPUSOAK_TRY(stmt.bind_all(id));
    GPUSOAK_TRY_ASSIGN(auto row, stmt.step());
    if (!row) return make_error(error_kind::not_found, fmt::format("no run '{}'", id));
    auto state = parse_run_state(stmt.column_text(0));
    if (!state) return make_error(error_kind::internal, fmt::format("run '{}': {}", id, state.error().message));
    return state;
  }

  // Checks that `id` exists and may move to `to`.
  result<run_state> check_transition(std::string_view id, run_state to) {
    GPUSOAK_TRY_ASSIGN(auto from, state_of(id));
    if (!transition_allowed(from, to))
      return make_error(error_kind::conflict,
                        fmt::format("run '{}' is {}; it cannot become {}", id, to_string(from), to_string(to)));
    return from;
  }

  // Checks that `id` exists and is running (for phases and samples).
  result<void> check_running(std::string_view id, std::string_view what) {
    GPUSOAK_TRY_ASSIGN(auto state, state_of(id));
    if (state != run_state::running)
      return make_error(error_kind::conflict,
                        fmt::format("run '{}' is {}; {} needs a running run", id, to_string(state), what));
    return {};
  }

  // Creates the schema, or brings an older one up to ours, in one transaction: a failure leaves
  // the file as it was.
  result<void> create_or_migrate_schema() {
    GPUSOAK_TRY_ASSIGN(auto txn, transaction::begin(db));
    // Another process may have created or migrated it between our read of user_version and the BEGIN.
    GPUSOAK_TRY_ASSIGN(auto version, db.query_int64("PRAGMA user_version"));
    if (version == 0) GPUSOAK_TRY(db.exec(schema_v1));
    if (version < 2) {
      GPUSOAK_TRY(db.exec(schema_v2));
      GPUSOAK_TRY(hash_stored_plans());
    }
    if (version < 3) GPUSOAK_TRY(db.exec(schema_v3));
    if (version < 4) GPUSOAK_TRY(db.exec(schema_v4));
    if (version < run_store::schema_version)
      GPUSOAK_TRY(db.exec(fmt::format("PRAGMA user_version = {}", run_store::schema_version)));
    return txn.commit();
  }

  // Version 1 runs get the hash of the plan text they kept (SQLite has no SHA-256 of its own).
  result<void> hash_stored_plans() {
    using id_and_hash = std::pair<std::string, std::string>;
    std::vector<id_and_hash> hashes;
    {
      GPUSOAK_TRY_ASSIGN(auto stmt, db.prepare("SELECT id, plan_text FROM runs WHERE plan_sha256 = ''"));
      GPUSOAK_TRY_ASSIGN(auto rows, collect<id_and_hash>(stmt, [](const statement& row) -> result<id_and_hash> {
                           return id_and_hash{row.column_text(0), sha256_hex(row.column_text(1))};
                         }));
      hashes = std::move(rows);
    }
    for (const auto& [id, hash] : hashes) {
      GPUSOAK_TRY_ASSIGN(auto stmt, db.prepare("UPDATE runs SET plan_sha256 = ?2 WHERE id = ?1"));
      GPUSOAK_TRY(stmt.bind_all(id, hash));
      GPUSOAK_TRY(stmt.run());
    }
    return {};
  }

  // Checks that `id` exists and is not final (for what only a run in progress may record).
  result<void> check_not_final(std::string_view id, std::string_view what) {
    GPUSOAK_TRY_ASSIGN(auto state, state_of(id));
    if (is_final(state))
      return make_error(error_kind::conflict, fmt::format("run '{}' is {} (final); {} is only recorded while it runs",
                                                          id, to_string(state), what));
    return {};
  }
};

run_store::run_store(std::unique_ptr<impl> p) noexcept : impl_(std::move(p)) {}
run_store::run_store(run_store&&) noexcept = default;
run_store& run_store::operator=(run_store&&) noexcept = default;
run_store::~run_store() = default;

result<run_store> run_store::open(const std::string& path) {
  auto opened = open_at(path);
  if (!opened) return with_context(std::move(opened).error(), fmt::format("run store '{}': ", path));
  return opened;
}

result<run_store> run_store::open_at(const std::string& path) {
  GPUSOAK_TRY_ASSIGN(auto db, database::open(path));
  auto p = std::make_unique<impl>(std::move(db));
  auto& d = p->db;
  // Before anything that may wait on another connection's lock.
  GPUSOAK_TRY(d.exec("PRAGMA busy_timeout = 5000"));
  GPUSOAK_TRY_ASSIGN(auto version, d.query_int64("PRAGMA user_version"));
  if (version > schema_version)
    return make_error(error_kind::unsupported,
                      fmt::format("the store has schema version {}; this gpusoak reads up to version {} "
                                  "(use a newer gpusoak, or another --state-dir)",
                                  version, schema_version));
  if (version < 0) return make_error(error_kind::io, fmt::format("the store has schema version {}", version));
  GPUSOAK_TRY_ASSIGN(auto mode, d.query_text("PRAGMA journal_mode = WAL"));
  if (mode != "wal") return make_error(error_kind::io, fmt::format("journal_mode is '{}' after asking for WAL", mode));
  GPUSOAK_TRY(d.exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON"));
  // SQLite's default page cache (2,000 KiB) fills as a run's samples are appended, about
  // 2.5 MiB of pages an hour: the daemon's RSS then climbs for most of an hour before it levels,
  // which a leak-slope check cannot tell from a leak. A small cap fills within minutes; reads of
  // a whole run (reports, the gate) come from the kernel's file cache instead, as fast.
  GPUSOAK_TRY(d.exec(fmt::format("PRAGMA cache_size = -{}", page_cache_kib)));
  if (version < schema_version) GPUSOAK_TRY(p->create_or_migrate_schema());
  return run_store(std::move(p));
}

result<std::string> run_store::create_run(const run_spec& spec) {
  if (!std::isfinite(spec.time_scale) || spec.time_scale <= 0)
    return make_error(error_kind::validation, fmt::format("time_scale {} is not a positive number", spec.time_scale));
  std::lock_guard lock(impl_->mutex);
  const impl::write_watch watch(*impl_);
  auto& db = impl_->db;
  GPUSOAK_TRY_ASSIGN(auto txn, transaction::begin(db));
  const std::string prefix = id_prefix(spec.created_at);
  std::int64_t next = 1;
  {
    // The daily counter: ids of the day are "prefix" + a number of at least 4 digits.
    GPUSOAK_TRY_ASSIGN(auto stmt,
                       db.prepare("SELECT MAX(CAST(substr(id, ?2) AS INTEGER)) FROM runs WHERE id LIKE ?1 || '%'"));
    GPUSOAK_TRY(stmt.bind_all(prefix, static_cast<std::int64_t>(prefix.size() + 1)));
    GPUSOAK_TRY_ASSIGN(auto row, stmt.step());
    if (row && !stmt.column_is_null(0)) next = stmt.column_int64(0) + 1;
  }
  std::string id = fmt::format("{}{:04}", prefix, next);
  {
    GPUSOAK_TRY_ASSIGN(auto stmt,
                       db.prepare("INSERT INTO runs (id, plan_name, plan_text, device, state, created_at, time_scale, "
                                  "mask, gpusoak_version, gpusoak_commit, plan_sha256) "
                                  "VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7, ?8, ?9, ?10)"));
    GPUSOAK_TRY(stmt.bind_all(id, spec.plan_name, spec.plan_text, spec.device, to_millis(spec.created_at),
                              spec.time_scale, spec.mask, spec.gpusoak_version, spec.gpusoak_commit,
                              sha256_hex(spec.plan_text)));
    GPUSOAK_TRY(stmt.run());
  }
  GPUSOAK_TRY(txn.commit());
  return id;
}

result<void> run_store::mark_running(std::string_view id, timestamp started_at) {
  std::lock_guard lock(impl_->mutex);
  const impl::write_watch watch(*impl_);
  auto& db = impl_->db;
  GPUSOAK_TRY_ASSIGN(auto txn, transaction::begin(db));
  GPUSOAK_TRY(impl_->check_transition(id, run_state::running));
  {
    // A resume keeps the first start and the elapsed time; it clears the interruption only.
    GPUSOAK_TRY_ASSIGN(auto stmt, db.prepare("UPDATE runs SET state = 'running', started_at = COALESCE(started_at, ?2) "
                                             "WHERE id = ?1"));
    GPUSOAK_TRY(stmt.bind_all(id, to_millis(started_at)));
    GPUSOAK_TRY(stmt.run());
  }
  return txn.commit();
}

result<void> run_store::record_phase_start(std::string_view id, std::int64_t index, std::string_view name,
                                           timestamp started_at) {
  if (index < 0) return make_error(error_kind::validation, fmt::format("run '{}': phase index {} < 0", id, index));
  std::lock_guard lock(impl_->mutex);
  const impl::write_watch watch(*impl_);
  auto& db = impl_->db;
  GPUSOAK_TRY_ASSIGN(auto txn, transaction::begin(db));
  GPUSOAK_TRY(impl_->check_running(id, "starting a phase"));
  {
    GPUSOAK_TRY_ASSIGN(auto stmt, db.prepare("SELECT name, state FROM phases WHERE run_id = ?1 AND idx = ?2"));
    GPUSOAK_TRY(stmt.bind_all(id, index));
    GPUSOAK_TRY_ASSIGN(auto row, stmt.step());
    if (row) {
      const std::string old_name = stmt.column_text(0);
      const std::string old_state = stmt.column_text(1);
      if (old_name != name)
        return make_error(error_kind::validation,
                          fmt::format("run '{}': phase {} is '{}', not '{}'", id, index, old_name, name));
      if (old_state != "running" && old_state != "interrupted")
        return make_error(error_kind::conflict,
                          fmt::format("run '{}': phase {} ('{}') already ended {}", id, index, old_name, old_state));
    }
  }
  {
    GPUSOAK_TRY_ASSIGN(auto stmt, db.prepare("INSERT INTO phases (run_id, idx, name, started_at, state) "
                                             "VALUES (?1, ?2, ?3, ?4, 'running') "
                                             "ON CONFLICT (run_id, idx) DO UPDATE SET state = 'running'"));
    GPUSOAK_TRY(stmt.bind_all(id, index, name, to_millis(started_at)));
    GPUSOAK_TRY(stmt.run());
  }
  return txn.commit();
}

result<void> run_store::record_phase_end(std::string_view id, std::int64_t index, phase_state state,
                                         timestamp ended_at) {
  if (state == phase_state::running || state == phase_state::interrupted)
    return make_error(
        error_kind::validation,
        fmt::format("run '{}': phase {} cannot end as {}; use passed, failed or aborted", id, index, to_string(state)));
  std::lock_guard lock(impl_->mutex);
  const impl::write_watch watch(*impl_);
  auto& db = impl_->db;
  GPUSOAK_TRY_ASSIGN(auto txn, transaction::begin(db));
  GPUSOAK_TRY(impl_->check_running(id, "ending a phase"));
  {
    GPUSOAK_TRY_ASSIGN(auto stmt, db.prepare("SELECT state FROM phases WHERE run_id = ?1 AND idx = ?2"));
    GPUSOAK_TRY(stmt.bind_all(id, index));
    GPUSOAK_TRY_ASSIGN(auto row, stmt.step());
    if (!row) return make_error(error_kind::not_found, fmt::format("run '{}' has no phase {}", id, index));
    if (const std::string old = stmt.column_text(0); old != "running")
      return make_error(error_kind::conflict, fmt::format("run '{}': phase {} is {}, not running", id, index, old));
  }
  {
    GPUSOAK_TRY_ASSIGN(auto stmt,
                       db.prepare("UPDATE phases SET state = ?3, ended_at = ?4 WHERE run_id = ?1 AND idx = ?2"));
    GPUSOAK_TRY(stmt.bind_all(id, index, to_string(state), to_millis(ended_at)));
    GPUSOAK_TRY(stmt.run());
  }
  return txn.commit();
}

result<void> run_store::append_sample(std::string_view id, const sample& s) {
  if (!std::isfinite(s.t_seconds) || s.t_seconds < 0)
    return make_error(error_kind::validation,
                      fmt::format("run '{}': sample time {} is not a finite time >= 0 s", id, s.t_seconds));
  if (const auto extra = nlohmann::json::parse(s.extra_json, nullptr, false);
      extra.is_discarded() || !extra.is_object())
    return make_error(error_kind::validation,
                      fmt::format("run '{}': sample extra_json is not a JSON object: '{}'", id, s.extra_json));
  if (s.phase && *s.phase < 0)
    return make_error(error_kind::validation,
                      fmt::format("run '{}': sample phase {} is negative; phases count from 0", id, *s.phase));
  std::lock_guard lock(impl_->mutex);
  const impl::write_watch watch(*impl_);
  auto& db = impl_->db;
  GPUSOAK_TRY_ASSIGN(auto txn, transaction::begin(db));
  GPUSOAK_TRY(impl_->check_running(id, "appending a sample"));
  {
    GPUSOAK_TRY_ASSIGN(
        auto stmt, db.prepare("INSERT INTO samples (run_id, t_seconds, scenario, context, live_buffers, live_bytes, "
                              "rss_bytes, copies_total, errors_total, latency_p50_seconds, latency_p90_seconds, "
                              "latency_p99_seconds, iterations, extra_json, phase) "
                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"));
    GPUSOAK_TRY(stmt.bind_all(id, s.t_seconds, s.scenario, s.context, s.live_buffers, s.live_bytes, s.rss_bytes,
                              s.copies_total, s.errors_total, s.latency_p50_seconds, s.latency_p90_seconds,
                              s.latency_p99_seconds, s.iterations, s.extra_json, s.phase));
    GPUSOAK_TRY(stmt.run());
  }
  return txn.commit();
}

result<void> run_store::append_event(std::string_view id, const event& e) {
  if (!std::isfinite(e.t_seconds) || e.t_seconds < 0)
    return make_error(error_kind::validation,
                      fmt::format("run '{}': event time {} is not a finite time >= 0 s", id, e.t_seconds));
  std::lock_guard lock(impl_->mutex);
  const impl::write_watch watch(*impl_);
  auto& db = impl_->db;
  GPUSOAK_TRY_ASSIGN(auto txn, transaction::begin(db));
  GPUSOAK_TRY_ASSIGN(auto state, impl_->state_of(id));
  if (is_final(state))
    return make_error(error_kind::conflict,
                      fmt::format("run '{}' is {} (final); it takes no more events", id, to_string(state)));
  {
    GPUSOAK_TRY_ASSIGN(auto stmt, db.prepare("INSERT INTO events (run_id, t_seconds, level, scenario, message) "
                                             "VALUES (?1, ?2, ?3, ?4, ?5)"));
    GPUSOAK_TRY(stmt.bind_all(id, e.t_seconds, e.level, e.scenario, e.message));
    GPUSOAK_TRY(stmt.run());
  }
  return txn.commit();
}

result<void> run_store::record_verdicts(std::string_view id, const std::vector<threshold_result>& results) {
  std::lock_guard lock(impl_->mutex);
  const impl::write_watch watch(*impl_);
  auto& db = impl_->db;
  GPUSOAK_TRY_ASSIGN(auto txn, transaction::begin(db));
  GPUSOAK_TRY(impl_->check_not_final(id, "its own verdict"));
  {
    GPUSOAK_TRY_ASSIGN(auto stmt, db.prepare("DELETE FROM verdicts WHERE run_id = ?1"));
    GPUSOAK_TRY(stmt.bind_all(id));
    GPUSOAK_TRY(stmt.run());
  }
  for (const auto& r : results) {
    GPUSOAK_TRY_ASSIGN(
        auto stmt, db.prepare("INSERT INTO verdicts (run_id, threshold, observed, passed) VALUES (?1, ?2, ?3, ?4)"));
    GPUSOAK_TRY(stmt.bind_all(id, r.threshold, r.observed, r.passed));
    GPUSOAK_TRY(stmt.run());
  }
  return txn.commit();
}

result<bool> run_store::record_context(std::string_view id, const context_facts& facts) {
  std::lock_guard lock(impl_->mutex);
  const impl::write_watch watch(*impl_);
  auto& db = impl_->db;
  GPUSOAK_TRY_ASSIGN(auto txn, transaction::begin(db));
  GPUSOAK_TRY(impl_->check_not_final(id, "its context"));
  {
    GPUSOAK_TRY_ASSIGN(auto stmt, db.prepare("SELECT gl_renderer != '' OR gl_version != '' FROM runs WHERE id = ?1"));
    GPUSOAK_TRY(stmt.bind_all(id));
    GPUSOAK_TRY_ASSIGN(auto row, stmt.step());
    if (row && stmt.column_int64(0) != 0) return false;  // the first context is the one recorded
  }
  {
    GPUSOAK_TRY_ASSIGN(auto stmt,
                       db.prepare("UPDATE runs SET mask = COALESCE(mask, ?2), gl_vendor = ?3, gl_renderer = ?4, "
                                  "gl_version = ?5, vendor_class = ?6 WHERE id = ?1"));
    GPUSOAK_TRY(
        stmt.bind_all(id, facts.mask, facts.gl_vendor, facts.gl_renderer, facts.gl_version, facts.vendor_class));
    GPUSOAK_TRY(stmt.run());
  }
  for (const auto& s : facts.usage_strategies) {
    GPUSOAK_TRY_ASSIGN(auto stmt, db.prepare("INSERT OR IGNORE INTO strategies (run_id, subject, name, strategy) "
                                             "VALUES (?1, ?2, ?3, ?4)"));
    GPUSOAK_TRY(stmt.bind_all(id, to_string(s.subject), s.name, s.strategy));
    GPUSOAK_TRY(stmt.run());
  }
  GPUSOAK_TRY(txn.commit());
  return true;
}

result<void> run_store::record_scenario_strategy(std::string_view id, std::string_view scenario,
                                                 std::string_view strategy) {
  std::lock_guard lock(impl_->mutex);
  const impl::write_watch watch(*impl_);
  auto& db = impl_->db;
  GPUSOAK_TRY_ASSIGN(auto txn, transaction::begin(db));
  GPUSOAK_TRY(impl_->check_not_final(id, "a scenario's strategy"));
  {
    GPUSOAK_TRY_ASSIGN(auto stmt, db.prepare("INSERT OR IGNORE INTO strategies (run_id, subject, name, strategy) "
                                             "VALUES (?1, 'scenario', ?2, ?3)"));
    GPUSOAK_TRY(stmt.bind_all(id, scenario, strategy));
    GPUSOAK_TRY(stmt.run());
  }
  return txn.commit();
}

result<std::int64_t> run_store::save_evaluation(std::string_view id, const stored_evaluation& evaluation) {
  for (const auto& r : evaluation.rows) {
    if (r.status != "passed" && r.status != "failed" && r.status != "no_data" && r.status != "not_enough_data")
      return make_error(error_kind::validation,
                        fmt::format("run '{}': evaluation row '{}' has status '{}'; use passed, failed, no_data or "
                                    "not_enough_data",
                                    id, r.threshold, r.status));
  }
  std::lock_guard lock(impl_->mutex);
  const impl::write_watch watch(*impl_);
  auto& db = impl_->db;
  GPUSOAK_TRY_ASSIGN(auto txn, transaction::begin(db));
  GPUSOAK_TRY(impl_->state_of(id));
  {
    GPUSOAK_TRY_ASSIGN(auto stmt,
                       db.prepare("INSERT INTO evaluations (run_id, evaluated_at, basis, warmup_fraction, exit_code) "
                                  "VALUES (?1, ?2, ?3, ?4, ?5)"));
    GPUSOAK_TRY(stmt.bind_all(id, to_millis(evaluation.evaluated_at), evaluation.basis, evaluation.warmup_fraction,
                              evaluation.exit_code));
    GPUSOAK_TRY(stmt.run());
  }
  GPUSOAK_TRY_ASSIGN(auto evaluation_id, db.query_int64("SELECT last_insert_rowid()"));
  for (std::size_t i = 0; i < evaluation.rows.size(); ++i) {
    const auto& r = evaluation.rows[i];
    GPUSOAK_TRY_ASSIGN(auto stmt,
                       db.prepare("INSERT INTO evaluation_rows (evaluation_id, idx, threshold, status, observed, "
                                  "limit_value, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
    GPUSOAK_TRY(stmt.bind_all(evaluation_id, static_cast<std::int64_t>(i), r.threshold, r.status, r.observed, r.limit,
                              r.detail));
    GPUSOAK_TRY(stmt.run());
  }
  GPUSOAK_TRY(txn.commit());
  return evaluation_id;
}

result<void> run_store::finish_run(std::string_view id, run_state final_state, std::string_view reason,
                                   timestamp ended_at) {
  if (!is_final(final_state))
    return make_error(error_kind::validation,
                      fmt::format("run '{}': finish_run needs a final state (passed, failed, could_not_run, aborted), "
                                  "not {}",
                                  id, to_string(final_state)));
  std::lock_guard lock(impl_->mutex);
  const impl::write_watch watch(*impl_);
  auto& db = impl_->db;
  GPUSOAK_TRY_ASSIGN(auto txn, transaction::begin(db));
  GPUSOAK_TRY(impl_->check_transition(id, final_state));
  {
    GPUSOAK_TRY_ASSIGN(
        auto stmt, db.prepare("UPDATE runs SET state = ?2, verdict_reason = ?3, ended_at = ?4, elapsed_seconds = "
                              "MAX(elapsed_seconds, COALESCE((SELECT MAX(t_seconds) FROM samples WHERE run_id = ?1), "
                              "0)) WHERE id = ?1"));
    GPUSOAK_TRY(stmt.bind_all(id, to_string(final_state), reason, to_millis(ended_at)));
    GPUSOAK_TRY(stmt.run());
  }
  {
    // Phases left running end with the run.
    GPUSOAK_TRY_ASSIGN(auto stmt, db.prepare("UPDATE phases SET state = 'aborted', ended_at = ?2 "
                                             "WHERE run_id = ?1 AND state IN ('running', 'interrupted')"));
    GPUSOAK_TRY(stmt.bind_all(id, to_millis(ended_at)));
    GPUSOAK_TRY(stmt.run());
  }
  return txn.commit();
}

result<run_record> run_store::get_run(std::string_view id) {
  std::lock_guard lock(impl_->mutex);
  GPUSOAK_TRY_ASSIGN(auto stmt, impl_->db.prepare(GPUSOAK_RUN_SELECT "WHERE id = ?1"));
  GPUSOAK_TRY(stmt.bind_all(id));
  GPUSOAK_TRY_ASSIGN(auto row, stmt.step());
  if (!row) return make_error(error_kind::not_found, fmt::format("no run '{}'", id));
  return read_run(stmt);
}

result<std::vector<run_record>> run_store::list_runs(std::int64_t limit) {
  if (limit <= 0) return make_error(error_kind::validation, fmt::format("list_runs: limit {} is not > 0", limit));
  std::lock_guard lock(impl_->mutex);
  GPUSOAK_TRY_ASSIGN(auto stmt, impl_->db.prepare(GPUSOAK_RUN_SELECT "ORDER BY created_at DESC, id DESC LIMIT ?1"));
  GPUSOAK_TRY(stmt.bind_all(limit));
  return read_runs(stmt);
}

result<std::vector<sample>> run_store::samples(std::string_view id, std::optional<double> after_t) {
  std::lock_guard lock(impl_->mutex);
  GPUSOAK_TRY(impl_->state_of(id));
  GPUSOAK_TRY_ASSIGN(auto stmt,
                     impl_->db.prepare("SELECT t_seconds, scenario, context, live_buffers, live_bytes, rss_bytes, "
                                       "copies_total, errors_total, latency_p50_seconds, latency_p90_seconds, "
                                       "latency_p99_seconds, iterations, extra_json, phase FROM samples "
                                       "WHERE run_id = ?1 AND (?2 IS NULL OR t_seconds > ?2) ORDER BY seq"));
  GPUSOAK_TRY(stmt.bind_all(id, after_t));
  return collect<sample>(stmt, [](const statement& row) -> result<sample> {
    return sample{
        .t_seconds = row.column_double(0),
        .scenario = row.column_text(1),
        .context = row.column_text(2),
        .live_buffers = row.column_int64(3),
        .live_bytes = row.column_int64(4),
        .rss_bytes = row.column_int64(5),
        .copies_total = row.column_int64(6),
        .errors_total = row.column_int64(7),
        .latency_p50_seconds = row.column_double(8),
        .latency_p90_seconds = row.column_double(9),
        .latency_p99_seconds = row.column_double(10),
        .iterations = row.column_int64(11),
        .extra_json = row.column_text(12),
        .phase = row.column_optional_int64(13),
    };
  });
}

result<std::vector<event>> run_store::events(std::string_view id) {
  std::lock_guard lock(impl_->mutex);
  GPUSOAK_TRY(impl_->state_of(id));
  GPUSOAK_TRY_ASSIGN(auto stmt,
                     impl_->db.prepare("SELECT t_seconds, level, scenario, message FROM events WHERE run_id = ?1 "
                                       "ORDER BY seq"));
  GPUSOAK_TRY(stmt.bind_all(id));
  return collect<event>(stmt, [](const statement& row) -> result<event> {
    return event{.t_seconds = row.column_double(0),
                 .level = row.column_text(1),
                 .scenario = row.column_text(2),
                 .message = row.column_text(3)};
  });
}

result<std::vector<phase_record>> run_store::phases(std::string_view id) {
  std::lock_guard lock(impl_->mutex);
  GPUSOAK_TRY(impl_->state_of(id));
  GPUSOAK_TRY_ASSIGN(auto stmt,
                     impl_->db.prepare("SELECT idx, name, state, started_at, ended_at FROM phases WHERE run_id = ?1 "
                                       "ORDER BY idx"));
  GPUSOAK_TRY(stmt.bind_all(id));
  return collect<phase_record>(stmt, [](const statement& row) -> result<phase_record> {
    auto state = parse_phase_state(row.column_text(2));
    if (!state) return make_error(error_kind::internal, state.error().message);
    return phase_record{.index = row.column_int64(0),
                        .name = row.column_text(1),
                        .state = *state,
                        .started_at = from_millis(row.column_int64(3)),
                        .ended_at = from_millis(row.column_optional_int64(4))};
  });
}

result<std::vector<threshold_result>> run_store::verdicts(std::string_view id) {
  std::lock_guard lock(impl_->mutex);
  GPUSOAK_TRY(impl_->state_of(id));
  GPUSOAK_TRY_ASSIGN(
      auto stmt, impl_->db.prepare("SELECT threshold, observed, passed FROM verdicts WHERE run_id = ?1 ORDER BY seq"));
  GPUSOAK_TRY(stmt.bind_all(id));
  return collect<threshold_result>(stmt, [](const statement& row) -> result<threshold_result> {
    return threshold_result{
        .threshold = row.column_text(0), .observed = row.column_double(1), .passed = row.column_int64(2) != 0};
  });
}

result<std::vector<stored_evaluation>> run_store::evaluations(std::string_view id) {
  std::lock_guard lock(impl_->mutex);
  GPUSOAK_TRY(impl_->state_of(id));
  GPUSOAK_TRY_ASSIGN(auto stmt,
                     impl_->db.prepare("SELECT id, evaluated_at, basis, warmup_fraction, exit_code FROM evaluations "
                                       "WHERE run_id = ?1 ORDER BY id"));
  GPUSOAK_TRY(stmt.bind_all(id));
  GPUSOAK_TRY_ASSIGN(auto list, collect<stored_evaluation>(stmt, [](const statement& row) -> result<stored_evaluation> {
                       return stored_evaluation{.id = row.column_int64(0),
                                                .evaluated_at = from_millis(row.column_int64(1)),
                                                .basis = row.column_text(2),
                                                .warmup_fraction = row.column_double(3),
                                                .exit_code = static_cast<int>(row.column_int64(4))};
                     }));
  for (auto& e : list) {
    GPUSOAK_TRY_ASSIGN(auto rows,
                       impl_->db.prepare("SELECT threshold, status, observed, limit_value, detail FROM evaluation_rows "
                                         "WHERE evaluation_id = ?1 ORDER BY idx"));
    GPUSOAK_TRY(rows.bind_all(e.id));
    GPUSOAK_TRY_ASSIGN(
        auto read, collect<stored_evaluation::row>(rows, [](const statement& row) -> result<stored_evaluation::row> {
          return stored_evaluation::row{.threshold = row.column_text(0),
                                        .status = row.column_text(1),
                                        .observed = row.column_optional_double(2),
                                        .limit = row.column_optional_double(3),
                                        .detail = row.column_text(4)};
        }));
    e.rows = std::move(read);
  }
  return list;
}

result<std::vector<run_record>> run_store::interrupted_runs() {
  std::lock_guard lock(impl_->mutex);
  GPUSOAK_TRY_ASSIGN(auto stmt, impl_->db.prepare(GPUSOAK_RUN_SELECT "WHERE state = ?1 ORDER BY created_at, id"));
  GPUSOAK_TRY(stmt.bind_all(to_string(run_state::interrupted)));
  return read_runs(stmt);
}

// running -> interrupted inside the caller's transaction: the run (and its running phases) wait
// for a resume from the last sample. A run may have reached a later sample than the stored
// elapsed time.
result<void> interrupt_run(database& db, std::string_view id) {
  {
    GPUSOAK_TRY_ASSIGN(auto stmt,
                       db.prepare("UPDATE runs SET state = 'interrupted', elapsed_seconds = "
                                  "COALESCE((SELECT MAX(t_seconds) FROM samples WHERE run_id = ?1), elapsed_seconds) "
                                  "WHERE id = ?1"));
    GPUSOAK_TRY(stmt.bind_all(id));
    GPUSOAK_TRY(stmt.run());
  }
  GPUSOAK_TRY_ASSIGN(auto stmt,
                     db.prepare("UPDATE phases SET state = 'interrupted' WHERE run_id = ?1 AND state = 'running'"));
  GPUSOAK_TRY(stmt.bind_all(id));
  return stmt.run();
}

result<void> run_store::mark_interrupted(std::string_view id) {
  std::lock_guard lock(impl_->mutex);
  const impl::write_watch watch(*impl_);
  GPUSOAK_TRY(impl_->check_transition(id, run_state::interrupted));
  GPUSOAK_TRY_ASSIGN(auto txn, transaction::begin(impl_->db));
  GPUSOAK_TRY(interrupt_run(impl_->db, id));
  return txn.commit();
}

result<std::vector<run_record>> run_store::recover_interrupted() {
  std::lock_guard lock(impl_->mutex);
  const impl::write_watch watch(*impl_);
  auto& db = impl_->db;
  GPUSOAK_TRY_ASSIGN(auto txn, transaction::begin(db));
  std::vector<std::string> ids;
  {
    GPUSOAK_TRY_ASSIGN(auto stmt, db.prepare("SELECT id FROM runs WHERE state = 'running' ORDER BY created_at, id"));
    GPUSOAK_TRY_ASSIGN(auto found, collect<std::string>(stmt, [](const statement& row) -> result<std::string> {
                         return row.column_text(0);
                       }));
    ids = std::move(found);
  }
  for (const auto& id : ids) GPUSOAK_TRY(interrupt_run(db, id));
  std::vector<run_record> recovered;
  for (const auto& id : ids) {
    GPUSOAK_TRY_ASSIGN(auto stmt, db.prepare(GPUSOAK_RUN_SELECT "WHERE id = ?1"));
    GPUSOAK_TRY(stmt.bind_all(id));
    GPUSOAK_TRY_ASSIGN(auto row, stmt.step());
    if (!row) return make_error(error_kind::internal, fmt::format("run '{}' vanished during recovery", id));
    GPUSOAK_TRY_ASSIGN(auto record, read_run(stmt));
    recovered.push_back(std::move(record));
  }
  GPUSOAK_TRY(txn.commit());
  return recovered;
}

std::optional<std::string> run_store::out_of_space() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->out_of_space;
}

result<void> run_store::integrity_check() {
  std::lock_guard lock(impl_->mutex);
  GPUSOAK_TRY_ASSIGN(auto stmt, impl_->db.prepare("PRAGMA integrity_check"));
  GPUSOAK_TRY_ASSIGN(auto lines, collect<std::string>(stmt, [](const statement& row) -> result<std::string> {
                       return row.column_text(0);
                     }));
  if (lines.size() == 1 && lines.front() == "ok") return {};
  std::string findings;
  for (const auto& line : lines) findings += fmt::format("{}{}", findings.empty() ? "" : "; ", line);
  return make_error(error_kind::internal, fmt::format("run store integrity check failed: {}", findings));
}

result<store_settings> run_store::settings() {
  std::lock_guard lock(impl_->mutex);
  auto& db = impl_->db;
  GPUSOAK_TRY_ASSIGN(auto mode, db.query_text("PRAGMA journal_mode"));
  GPUSOAK_TRY_ASSIGN(auto sync, db.query_int64("PRAGMA synchronous"));
  GPUSOAK_TRY_ASSIGN(auto fk, db.query_int64("PRAGMA foreign_keys"));
  GPUSOAK_TRY_ASSIGN(auto busy, db.query_int64("PRAGMA busy_timeout"));
  GPUSOAK_TRY_ASSIGN(auto version, db.query_int64("PRAGMA user_version"));
  GPUSOAK_TRY_ASSIGN(auto cache, db.query_int64("PRAGMA cache_size"));
  GPUSOAK_TRY_ASSIGN(auto page, db.query_int64("PRAGMA page_size"));
  return store_settings{.journal_mode = mode,
                        .synchronous = static_cast<int>(sync),
                        .foreign_keys = fk != 0,
                        .busy_timeout_ms = static_cast<int>(busy),
                        .schema_version = static_cast<int>(version),
                        // Negative: KiB; positive: pages.
                        .cache_kib = static_cast<int>(cache < 0 ? -cache : cache * page / 1024)};
}

#undef GPUSOAK_RUN_SELECT

}  // namespace gpusoak::harness
