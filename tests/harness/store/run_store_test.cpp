// The run store on real SQLite files: round trips, pragmas, reopen, kill -9 durability,
// validation of bad input, newer schemas, a full disk.
#include "gpusoak/harness/run_store.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "temp_dir.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "gpusoak/harness/sha256.hpp"
#include "stored_run_builder.hpp"

namespace gpusoak::harness {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards; the random seed is printed on failure.
class RunStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = std::random_device{}();
    rng_.seed(seed_);
  }

  std::string db_path() const { return (dir_ / "runs.sqlite").string(); }

  run_store open_store() {
    auto store = run_store::open(db_path());
    // gtest reports the exception as this test's failure.
    if (!store) throw std::runtime_error("open: " + store.error().message);
    return std::move(*store);
  }

  std::string random_text(std::size_t max_size) {
    // Quotes, newlines, SQL-ish text and multi-byte UTF-8 go through untouched.
    static const std::vector<std::string> pieces{"a",  "Z",  "0", " ", "'", "\"", "\n",   "\t",
                                                 ";",  "--", "%", "_", "é", "µs", "🙂", "DROP TABLE runs;",
                                                 "{}", "\\"};
    std::string text;
    const auto count = std::uniform_int_distribution<std::size_t>(0, max_size)(rng_);
    for (std::size_t i = 0; i < count; ++i)
      text += pieces[std::uniform_int_distribution<std::size_t>(0, pieces.size() - 1)(rng_)];
    return text;
  }
  double random_double(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng_); }
  std::int64_t random_int(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
  }

  sample random_sample(double t) {
    return sample{.t_seconds = t,
                  .scenario = random_text(8),
                  .context = random_text(4),
                  .live_buffers = random_int(0, 1'000'000),
                  .live_bytes = random_int(0, std::numeric_limits<std::int64_t>::max()),
                  .rss_bytes = random_int(0, 1LL << 40),
                  .copies_total = random_int(0, std::numeric_limits<std::int64_t>::max()),
                  .errors_total = random_int(0, 10),
                  .latency_p50_seconds = random_double(0, 1e-3),
                  .latency_p90_seconds = random_double(1e-3, 1e-2),
                  .latency_p99_seconds = random_double(1e-2, 1),
                  .iterations = random_int(0, 1LL << 50),
                  .extra_json = R"({"fragmentation_ratio": 0.25, "note": "x"})",
                  .phase = random_int(0, 3) == 0 ? std::nullopt : std::optional<std::int64_t>(random_int(0, 1000))};
  }

  test::temp_dir dir_{"gpusoak-run-store"};
  unsigned seed_ = 0;
  std::mt19937_64 rng_;
};

timestamp at_ms(std::int64_t ms) {
  return timestamp(std::chrono::milliseconds(ms));
}

// 2026-11-23T12:00:00Z
constexpr std::int64_t nov23_noon_ms = 1'795'435'200'000;

std::string nov23_id(std::size_t n) {
  std::string digits = std::to_string(n);
  return "r-20261123-" + std::string(4 - std::min<std::size_t>(4, digits.size()), '0') + digits;
}

// Runs the raw SQL on the file through a separate connection; returns the first column of the
// first row as text.
std::string raw_query(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
      if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr)
        out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      sqlite3_finalize(stmt);
    } else {
      out = std::string("error: ") + sqlite3_errmsg(db);
    }
  }
  sqlite3_close(db);
  return out;
}

// checks that runs created with random values read back field for field, with daily ids, newest first
TEST_F(RunStoreTest, CreateGetListRoundTrip) {
  SCOPED_TRACE(::testing::Message() << "seed " << seed_);
  auto store = open_store();
  std::vector<run_spec> specs;
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    run_spec spec{.plan_name = random_text(10),
                  .plan_text = random_text(200),
                  .device = random_text(10),
                  .time_scale = random_double(1e-4, 10),
                  .created_at = at_ms(nov23_noon_ms + i * 1000 + random_int(0, 999))};
    auto id = store.create_run(spec);
    ASSERT_TRUE(id) << id.error().message;
    specs.push_back(spec);
    ids.push_back(*id);
  }
  // The next day starts its counter again.
  auto next_day = store.create_run({.plan_name = "smoke", .created_at = at_ms(nov23_noon_ms + 86'400'000)});
  ASSERT_TRUE(next_day);
  EXPECT_EQ(*next_day, "r-20261124-0001");

  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(ids[i], nov23_id(i + 1));
    auto run = store.get_run(ids[i]);
    ASSERT_TRUE(run) << run.error().message;
    EXPECT_EQ(run->id, ids[i]);
    EXPECT_EQ(run->plan_name, specs[i].plan_name);
    EXPECT_EQ(run->plan_text, specs[i].plan_text);
    EXPECT_EQ(run->device, specs[i].device);
    EXPECT_EQ(run->time_scale, specs[i].time_scale);
    EXPECT_EQ(run->created_at, specs[i].created_at);
    EXPECT_EQ(run->state, run_state::queued);
    EXPECT_FALSE(run->started_at);
    EXPECT_FALSE(run->ended_at);
    EXPECT_EQ(run->elapsed_seconds, 0);
    EXPECT_EQ(run->sample_count, 0);
    EXPECT_FALSE(run->last_sample_t);
  }

  auto listed = store.list_runs(4);
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 4u);
  EXPECT_EQ((*listed)[0].id, *next_day);
  for (std::size_t i = 1; i < 4; ++i) EXPECT_EQ((*listed)[i].id, ids[ids.size() - i]);
  auto all = store.list_runs(100);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 7u);
  EXPECT_EQ(store.list_runs(0).error().kind, error_kind::validation);
}

// checks that samples come back bit for bit, filtered by time, with counts and the last t on the run
TEST_F(RunStoreTest, SamplesReadBackExactly) {
  SCOPED_TRACE(::testing::Message() << "seed " << seed_);
  auto store = open_store();
  const auto id = test::stored_run_builder(store, {.plan_name = "nightly"}).running().id();
  std::vector<sample> written;
  double t = 0;
  for (int i = 0; i < 200; ++i) {
    t += random_double(0.001, 30);
    written.push_back(random_sample(t));
    auto appended = store.append_sample(id, written.back());
    ASSERT_TRUE(appended) << appended.error().message;
  }
  auto read = store.samples(id);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(*read, written);

  const double cut = written[120].t_seconds;
  auto later = store.samples(id, cut);
  ASSERT_TRUE(later);
  EXPECT_EQ(*later, std::vector<sample>(written.begin() + 121, written.end()));

  auto run = store.get_run(id);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->sample_count, 200);
  ASSERT_TRUE(run->last_sample_t);
  EXPECT_EQ(*run->last_sample_t, written.back().t_seconds);
}

// checks that WAL, synchronous=FULL, foreign keys, a busy timeout and the schema version are in effect
TEST_F(RunStoreTest, PragmasAreInEffect) {
  auto store = open_store();
  auto settings = store.settings();
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->journal_mode, "wal");
  EXPECT_EQ(settings->synchronous, 2);  // FULL
  EXPECT_TRUE(settings->foreign_keys);
  EXPECT_GT(settings->busy_timeout_ms, 0);
  EXPECT_EQ(settings->schema_version, run_store::schema_version);
  // WAL is a property of the file: another connection sees it too.
  EXPECT_EQ(raw_query(db_path(), "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw_query(db_path(), "PRAGMA user_version"), std::to_string(run_store::schema_version));
}

// checks that SQLite's own memory stays near the page cache cap while a run's samples outgrow it
// many times over (with SQLite's default cap it climbs for an hour of samples: a daemon's RSS
// slope that looks like a leak; docs/reliability.md)
TEST_F(RunStoreTest, PageCacheStaysUnderItsCapAsARunGrows) {
  auto store = open_store();
  auto settings = store.settings();
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->cache_kib, run_store::page_cache_kib);

  const auto id = test::stored_run_builder(store, {.plan_name = "long"}).running().id();
  const std::int64_t before = sqlite3_memory_used();
  std::int64_t highest = before;
  const std::int64_t cap = std::int64_t{run_store::page_cache_kib} * 1024;
  double t = 0;
  std::int64_t written_bytes = 0;
  while (written_bytes < 8 * cap) {
    t += random_double(0.5, 5);
    sample s = random_sample(t);
    std::string note(2000, 'a');  // the size of a real sample's latency buckets
    for (auto& c : note) c = static_cast<char>('a' + random_int(0, 25));
    s.extra_json = "{\"note\": \"" + note + "\"}";
    written_bytes += static_cast<std::int64_t>(s.extra_json.size());
    auto appended = store.append_sample(id, s);
    ASSERT_TRUE(appended) << appended.error().message;
    highest = std::max<std::int64_t>(highest, sqlite3_memory_used());
  }
  auto read = store.samples(id);  // a report reads the whole run
  ASSERT_TRUE(read) << read.error().message;
  read->clear();
  read->shrink_to_fit();
  highest = std::max<std::int64_t>(highest, sqlite3_memory_used());
  // The cap plus room for statements, the schema and SQLite's per-page headers (~10%).
  EXPECT_LT(highest - before, cap + cap / 2) << "SQLite held " << (highest - before) / 1024 << " KiB after "
                                             << written_bytes / 1024 << " KiB of samples (seed " << seed_ << ")";
}

// checks that closing and reopening keeps runs, phases, samples, events and verdicts
TEST_F(RunStoreTest, ReopenKeepsEverything) {
  SCOPED_TRACE(::testing::Message() << "seed " << seed_);
  std::string id;
  run_record before;
  std::vector<sample> samples;
  const std::vector<event> events{{.t_seconds = 0, .level = "info", .scenario = "", .message = "run started"},
                                  {.t_seconds = 1.5, .level = "error", .scenario = "oom", .message = random_text(50)}};
  const std::vector<threshold_result> verdicts{{"copies_total{path=\"hot\"} == 0", 0, true},
                                               {"p99(op_latency_seconds) < 200us", 0.00031, false}};
  for (int i = 0; i < 10; ++i) samples.push_back(random_sample(i * 2.0));
  {
    auto store = open_store();
    id = test::stored_run_builder(store, {.plan_name = "release", .plan_text = random_text(100), .device = "egl:0"})
             .running(at_ms(nov23_noon_ms))
             .phase("warm-up", at_ms(nov23_noon_ms))
             .events(events)
             .samples(samples)
             .end_phase(phase_state::passed, at_ms(nov23_noon_ms + 20'000))
             .phase("soak", at_ms(nov23_noon_ms + 20'000))
             .verdicts({{"old", 1, true}})
             .verdicts(verdicts)  // replaces
             .finish(run_state::failed, "p99 latency 310us >= 200us", at_ms(nov23_noon_ms + 25'000))
             .id();
    auto run = store.get_run(id);
    ASSERT_TRUE(run);
    before = *run;
  }
  auto store = open_store();
  auto after = store.get_run(id);
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(after->state, run_state::failed);
  EXPECT_EQ(after->verdict_reason, "p99 latency 310us >= 200us");
  EXPECT_EQ(after->plan_text, before.plan_text);
  EXPECT_EQ(after->started_at, at_ms(nov23_noon_ms));
  EXPECT_EQ(after->ended_at, at_ms(nov23_noon_ms + 25'000));
  EXPECT_EQ(after->elapsed_seconds, 18.0);
  EXPECT_EQ(after->phase_count, 2);
  EXPECT_EQ(after->sample_count, 10);
  EXPECT_EQ(after->event_count, 2);
  EXPECT_EQ(after->verdict_count, 2);
  EXPECT_EQ(store.samples(id).value(), samples);
  EXPECT_EQ(store.events(id).value(), events);
  EXPECT_EQ(store.verdicts(id).value(), verdicts);
  const std::vector<phase_record> phases{{.index = 0,
                                          .name = "warm-up",
                                          .state = phase_state::passed,
                                          .started_at = at_ms(nov23_noon_ms),
                                          .ended_at = at_ms(nov23_noon_ms + 20'000)},
                                         {.index = 1,
                                          .name = "soak",
                                          .state = phase_state::aborted,  // left running when the run ended
                                          .started_at = at_ms(nov23_noon_ms + 20'000),
                                          .ended_at = at_ms(nov23_noon_ms + 25'000)}};
  EXPECT_EQ(store.phases(id).value(), phases);
  EXPECT_TRUE(store.integrity_check());
}

// The child's side of the crash test: appends samples t = i * 0.25 from `first` on, writing
// how many it has appended to `fd` after each append returns. Never returns.
[[noreturn]] void append_until_killed(const std::string& path, const std::string& id, std::int64_t first, int fd) {
  auto store = run_store::open(path);
  if (!store) _exit(2);
  for (std::int64_t i = first; i < first + 1'000'000; ++i) {
    const sample s{.t_seconds = static_cast<double>(i) * 0.25, .scenario = "memory_pressure", .iterations = i};
    if (!store->append_sample(id, s)) _exit(3);
    const std::int64_t appended = i + 1;
    if (write(fd, &appended, sizeof appended) != sizeof appended) _exit(4);
  }
  _exit(0);
}

// checks that kill -9 at a random moment loses no acknowledged sample, and the run recovers as interrupted
TEST_F(RunStoreTest, KillNineLosesNoAcknowledgedSample) {
  SCOPED_TRACE(::testing::Message() << "seed " << seed_);
  std::string id;
  {
    auto store = open_store();
    id = test::stored_run_builder(store, {.plan_name = "smoke"}).running().phase("main").id();
  }  // no connection is open across fork()

  std::int64_t stored = 0;
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE(::testing::Message() << "round " << round);
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(fds[0]);
      append_until_killed(db_path(), id, stored, fds[1]);
    }
    close(fds[1]);
    // Wait for the first acknowledgement, then let it run a random while before the kill.
    std::int64_t acknowledged = stored;
    std::int64_t value = 0;
    ASSERT_EQ(read(fds[0], &value, sizeof value), static_cast<ssize_t>(sizeof value));
    acknowledged = value;
    std::this_thread::sleep_for(std::chrono::milliseconds(random_int(0, 300)));
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child exited with status " << status;
    while (read(fds[0], &value, sizeof value) == static_cast<ssize_t>(sizeof value)) acknowledged = value;
    close(fds[0]);

    auto store = open_store();
    ASSERT_TRUE(store.integrity_check());
    auto samples = store.samples(id);
    ASSERT_TRUE(samples) << samples.error().message;
    const auto count = static_cast<std::int64_t>(samples->size());
    // Every acknowledged sample is there; at most the one in flight got in unacknowledged.
    EXPECT_GE(count, acknowledged) << "lost " << acknowledged - count << " acknowledged samples";
    EXPECT_LE(count, acknowledged + 1);
    for (std::int64_t i = 0; i < count; ++i) {
      ASSERT_EQ((*samples)[i].iterations, i);
      ASSERT_EQ((*samples)[i].t_seconds, static_cast<double>(i) * 0.25);
    }
    auto recovered = store.recover_interrupted();
    ASSERT_TRUE(recovered) << recovered.error().message;
    ASSERT_EQ(recovered->size(), 1u);
    EXPECT_EQ((*recovered)[0].id, id);
    EXPECT_EQ((*recovered)[0].state, run_state::interrupted);
    EXPECT_EQ((*recovered)[0].elapsed_seconds, samples->back().t_seconds);
    EXPECT_EQ((*recovered)[0].last_sample_t, samples->back().t_seconds);
    EXPECT_EQ(store.interrupted_runs().value().size(), 1u);
    EXPECT_EQ(store.phases(id).value().at(0).state, phase_state::interrupted);
    // Resume where it stopped.
    ASSERT_TRUE(store.mark_running(id, now_timestamp()));
    ASSERT_TRUE(store.record_phase_start(id, 0, "main", now_timestamp()));
    EXPECT_EQ(store.phases(id).value().at(0).state, phase_state::running);
    stored = count;
  }
  EXPECT_GT(stored, 5);
}

// checks that bad arguments are validation errors, illegal transitions conflicts and unknown ids
// not_found, each naming them, and that none changes anything
TEST_F(RunStoreTest, BadInputIsRejectedAndChangesNothing) {
  auto store = open_store();
  auto id = store.create_run({.plan_name = "smoke"}).value();

  auto not_running = store.append_sample(id, {.t_seconds = 1});
  ASSERT_FALSE(not_running);
  EXPECT_EQ(not_running.error().kind, error_kind::conflict);
  EXPECT_NE(not_running.error().message.find(id), std::string::npos) << not_running.error().message;
  EXPECT_NE(not_running.error().message.find("queued"), std::string::npos) << not_running.error().message;

  ASSERT_TRUE(store.mark_running(id, at_ms(nov23_noon_ms)));
  ASSERT_TRUE(store.append_sample(id, {.t_seconds = 1, .iterations = 7}));
  EXPECT_EQ(store.mark_running(id, now_timestamp()).error().kind, error_kind::conflict);  // running already
  EXPECT_EQ(store.append_sample(id, {.t_seconds = -1}).error().kind, error_kind::validation);
  EXPECT_EQ(store.append_sample(id, {.t_seconds = std::nan("")}).error().kind, error_kind::validation);
  EXPECT_EQ(store.append_sample(id, {.t_seconds = 2, .extra_json = "{not json"}).error().kind, error_kind::validation);
  EXPECT_EQ(store.append_sample(id, {.t_seconds = 2, .phase = -1}).error().kind, error_kind::validation);
  EXPECT_EQ(store.record_phase_end(id, 3, phase_state::passed, now_timestamp()).error().kind, error_kind::not_found);
  ASSERT_TRUE(store.finish_run(id, run_state::passed, "all thresholds held", at_ms(nov23_noon_ms + 5000)));

  auto twice = store.finish_run(id, run_state::failed, "again", now_timestamp());
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().kind, error_kind::conflict);
  EXPECT_NE(twice.error().message.find("'" + id + "' is passed"), std::string::npos) << twice.error().message;
  EXPECT_EQ(store.finish_run(id, run_state::running, "", now_timestamp()).error().kind, error_kind::validation);
  EXPECT_EQ(store.mark_running(id, now_timestamp()).error().kind, error_kind::conflict);
  EXPECT_EQ(store.append_sample(id, {.t_seconds = 3}).error().kind, error_kind::conflict);
  EXPECT_EQ(store.append_event(id, {.message = "late"}).error().kind, error_kind::conflict);

  const std::string ghost = "r-19990101-0001";
  const auto unknown = [&](const error& e) {
    EXPECT_EQ(e.kind, error_kind::not_found);
    EXPECT_NE(e.message.find("no run '" + ghost + "'"), std::string::npos) << e.message;
  };
  unknown(store.get_run(ghost).error());
  unknown(store.mark_running(ghost, now_timestamp()).error());
  unknown(store.append_sample(ghost, {}).error());
  unknown(store.append_event(ghost, {}).error());
  unknown(store.record_phase_start(ghost, 0, "x", now_timestamp()).error());
  unknown(store.record_phase_end(ghost, 0, phase_state::passed, now_timestamp()).error());
  unknown(store.record_verdicts(ghost, {}).error());
  unknown(store.record_context(ghost, {}).error());
  unknown(store.record_scenario_strategy(ghost, "oom", "staging_copy").error());
  unknown(store.save_evaluation(ghost, {}).error());
  unknown(store.evaluations(ghost).error());
  unknown(store.finish_run(ghost, run_state::aborted, "", now_timestamp()).error());
  unknown(store.samples(ghost).error());

  auto run = store.get_run(id);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->state, run_state::passed);
  EXPECT_EQ(run->verdict_reason, "all thresholds held");
  EXPECT_EQ(run->ended_at, at_ms(nov23_noon_ms + 5000));
  EXPECT_EQ(run->elapsed_seconds, 1.0);
  EXPECT_EQ(run->sample_count, 1);
  EXPECT_EQ(store.samples(id).value().at(0).iterations, 7);
  EXPECT_EQ(store.list_runs(10).value().size(), 1u);
  EXPECT_TRUE(store.integrity_check());
}

// checks that a store written by a newer schema is refused with both versions named, and left as it was
TEST_F(RunStoreTest, NewerSchemaIsRejected) {
  {
    auto store = open_store();
    ASSERT_TRUE(store.create_run({.plan_name = "smoke"}));
  }
  const auto newer = std::to_string(run_store::schema_version + 1);
  EXPECT_EQ(raw_query(db_path(), "PRAGMA user_version = " + newer), "");
  auto refused = run_store::open(db_path());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, error_kind::unsupported);
  EXPECT_NE(refused.error().message.find("schema version " + newer), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find("up to version " + std::to_string(run_store::schema_version)),
            std::string::npos)
      << refused.error().message;
  EXPECT_EQ(raw_query(db_path(), "PRAGMA user_version"), newer);
  EXPECT_EQ(raw_query(db_path(), "SELECT COUNT(*) FROM runs"), "1");
}

// Runs raw SQL (several statements) on the file through a separate connection; "" or SQLite's error.
std::string raw_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    out = "cannot open";
  } else if (char* message = nullptr; sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    out = message != nullptr ? message : "error";
    sqlite3_free(message);
  }
  sqlite3_close(db);
  return out;
}

// A store as schema version 1 wrote it (gpusoak before provenance), written here by raw SQL: one
// failed run with a phase, two samples, an event and six verdicts.
constexpr const char* schema_v1_store = R"sql(
CREATE TABLE runs (id TEXT PRIMARY KEY NOT NULL, plan_name TEXT NOT NULL, plan_text TEXT NOT NULL, device TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued','running','passed','failed','could_not_run','aborted','interrupted')),
  created_at INTEGER NOT NULL, started_at INTEGER, ended_at INTEGER, elapsed_seconds REAL NOT NULL DEFAULT 0,
  time_scale REAL NOT NULL, verdict_reason TEXT NOT NULL DEFAULT '') STRICT;
CREATE INDEX runs_by_created ON runs (created_at, id);
CREATE INDEX runs_by_state ON runs (state);
CREATE TABLE phases (run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE, idx INTEGER NOT NULL,
  name TEXT NOT NULL, started_at INTEGER NOT NULL, ended_at INTEGER,
  state TEXT NOT NULL CHECK (state IN ('running','passed','failed','aborted','interrupted')),
  PRIMARY KEY (run_id, idx)) STRICT;
CREATE TABLE samples (seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  t_seconds REAL NOT NULL, scenario TEXT NOT NULL, context TEXT NOT NULL, live_buffers INTEGER NOT NULL,
  live_bytes INTEGER NOT NULL, rss_bytes INTEGER NOT NULL, copies_total INTEGER NOT NULL,
  errors_total INTEGER NOT NULL, latency_p50_seconds REAL NOT NULL, latency_p90_seconds REAL NOT NULL,
  latency_p99_seconds REAL NOT NULL, iterations INTEGER NOT NULL,
  extra_json TEXT NOT NULL CHECK (json_valid(extra_json))) STRICT;
CREATE INDEX samples_by_run_t ON samples (run_id, t_seconds);
CREATE TABLE events (seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  t_seconds REAL NOT NULL, level TEXT NOT NULL, scenario TEXT NOT NULL, message TEXT NOT NULL) STRICT;
CREATE INDEX events_by_run_t ON events (run_id, t_seconds);
CREATE TABLE verdicts (seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  threshold TEXT NOT NULL, observed REAL NOT NULL, passed INTEGER NOT NULL CHECK (passed IN (0, 1))) STRICT;
CREATE INDEX verdicts_by_run ON verdicts (run_id);
INSERT INTO runs VALUES ('r-20261123-0001', 'smoke', 'name: smoke', 'egl_device:0', 'failed', 1795435200000,
  1795435201000, 1795435260000, 59.5, 0.1, 'gate: 1 of 6 thresholds failed');
INSERT INTO phases VALUES ('r-20261123-0001', 0, 'steady', 1795435201000, 1795435260000, 'failed');
INSERT INTO samples (run_id, t_seconds, scenario, context, live_buffers, live_bytes, rss_bytes, copies_total,
  errors_total, latency_p50_seconds, latency_p90_seconds, latency_p99_seconds, iterations, extra_json)
  VALUES ('r-20261123-0001', 30, 'oom', 'gpu0', 3, 4096, 1000000, 0, 0, 0.001, 0.002, 0.003, 10, '{}'),
         ('r-20261123-0001', 59.5, 'oom', 'gpu0', 4, 8192, 1000000, 2, 1, 0.001, 0.002, 0.004, 12, '{"oom_events_total": 3}');
INSERT INTO events (run_id, t_seconds, level, scenario, message) VALUES ('r-20261123-0001', 12, 'error', 'oom', 'x');
INSERT INTO verdicts (run_id, threshold, observed, passed) VALUES ('r-20261123-0001', 'copies_total == 0', 2, 0),
  ('r-20261123-0001', 'errors_total <= 1', 1, 1), ('r-20261123-0001', 'max(live_bytes) < 1GiB', 8192, 1),
  ('r-20261123-0001', 'oom_events_total < 10', 3, 1), ('r-20261123-0001', 'live_buffers < 100', 4, 1),
  ('r-20261123-0001', 'rss_bytes < 1GiB', 1000000, 1);
PRAGMA user_version = 1;
)sql";

// checks that a schema version 1 file (raw SQL) opens, is migrated to the current version in place,
// and its run, samples, events, phases and six verdicts read back unchanged, with its plan's hash and
// no mask and samples without a phase; the migrated file takes a not_enough_data evaluation row (version 3), and
// samples have a phase column (version 4)
TEST_F(RunStoreTest, SchemaOneFileMigratesAndReadsBack) {
  ASSERT_EQ(raw_exec(db_path(), schema_v1_store), "");
  const std::string id = "r-20261123-0001";
  {
    auto store = open_store();
    EXPECT_EQ(store.settings().value().schema_version, run_store::schema_version);
    auto run = store.get_run(id);
    ASSERT_TRUE(run) << run.error().message;
    EXPECT_EQ(run->state, run_state::failed);
    EXPECT_EQ(run->plan_text, "name: smoke");
    EXPECT_EQ(run->verdict_reason, "gate: 1 of 6 thresholds failed");
    EXPECT_EQ(run->elapsed_seconds, 59.5);
    EXPECT_EQ(run->sample_count, 2);
    EXPECT_EQ(run->verdict_count, 6);
    EXPECT_FALSE(run->provenance.mask.has_value());  // never recorded: not "none"
    EXPECT_EQ(run->provenance.plan_sha256, sha256_hex("name: smoke"));
    EXPECT_EQ(run->provenance.gpusoak_commit, "");
    EXPECT_TRUE(run->provenance.strategies.empty());
    auto samples = store.samples(id).value();
    ASSERT_EQ(samples.size(), 2u);
    EXPECT_EQ(samples[1].extra_json, R"({"oom_events_total": 3})");
    EXPECT_EQ(samples[1].copies_total, 2);
    EXPECT_FALSE(samples[1].phase.has_value());  // never recorded
    const auto verdicts = store.verdicts(id).value();
    ASSERT_EQ(verdicts.size(), 6u);
    EXPECT_EQ(verdicts[0], (threshold_result{"copies_total == 0", 2, false}));
    EXPECT_EQ(store.events(id).value().at(0).message, "x");
    EXPECT_EQ(store.phases(id).value().at(0).state, phase_state::failed);
    EXPECT_TRUE(store.evaluations(id).value().empty());
    // The migrated file takes the new rows, and new runs next to the old.
    ASSERT_TRUE(store.save_evaluation(id, {.basis = "--only",
                                           .exit_code = 2,
                                           .rows = {{.threshold = "p99(op_latency_seconds) < 1s",
                                                     .status = "not_enough_data",
                                                     .detail = "not enough data: 50 ops"}}}));
    auto next =
        store.create_run({.plan_name = "smoke", .plan_text = "name: smoke", .created_at = at_ms(nov23_noon_ms)});
    ASSERT_TRUE(next) << next.error().message;
    EXPECT_EQ(*next, "r-20261123-0002");
    EXPECT_TRUE(store.integrity_check());
  }
  EXPECT_EQ(raw_query(db_path(), "PRAGMA user_version"), std::to_string(run_store::schema_version));
  auto reopened = open_store();  // a second open has nothing to migrate
  ASSERT_EQ(reopened.evaluations(id).value().size(), 1u);
  EXPECT_EQ(reopened.evaluations(id).value()[0].rows.at(0).status, "not_enough_data");
  EXPECT_EQ(reopened.verdicts(id).value().size(), 6u);
}

// checks that a run's provenance reads back: the mask, build and plan hash given at creation, the
// first context's facts (a later one changes nothing), scenario strategies once each in first-seen
// order; and that nothing of it, nor the verdicts, can be recorded once the run is final
TEST_F(RunStoreTest, ProvenanceIsRecordedOnceAndReadsBack) {
  SCOPED_TRACE(::testing::Message() << "seed " << seed_);
  auto store = open_store();
  const std::string plan = random_text(200);
  const std::string mask = random_int(0, 1) != 0 ? "buffer_storage,coherent" : "";
  auto id = store
                .create_run({.plan_name = "smoke",
                             .plan_text = plan,
                             .mask = mask,
                             .gpusoak_version = "0.1.0",
                             .gpusoak_commit = "c090ecf4fa14-dirty"})
                .value();
  const context_facts first{.mask = "pinned",  // ignored: the run has a mask already
                            .gl_vendor = random_text(10),
                            .gl_renderer = "llvmpipe " + random_text(20),
                            .gl_version = "4.5 (Core Profile) Mesa " + random_text(5),
                            .vendor_class = "mesa_software",
                            .usage_strategies = {{strategy_subject::usage, "stream_to_gpu", "staging_copy"},
                                                 {strategy_subject::usage, "gpu_to_cpu", "staging_copy"}}};
  ASSERT_TRUE(store.mark_running(id, now_timestamp()));
  ASSERT_TRUE(store.record_scenario_strategy(id, "oom", "persistent_flush"));
  EXPECT_EQ(store.record_context(id, first).value(), true);
  context_facts later = first;
  later.gl_renderer = "NVIDIA H100";
  later.usage_strategies[0].strategy = "persistent_coherent";
  EXPECT_EQ(store.record_context(id, later).value(), false);
  ASSERT_TRUE(store.record_scenario_strategy(id, "conv2d_steady", "staging_copy"));
  ASSERT_TRUE(store.record_scenario_strategy(id, "oom", "persistent_flush"));  // again: kept once
  ASSERT_TRUE(store.record_scenario_strategy(id, "oom", "staging_copy"));      // a fallback: a second record
  ASSERT_TRUE(store.record_verdicts(id, {{"copies_total == 0", 0, true}}));
  ASSERT_TRUE(store.finish_run(id, run_state::passed, "ok", now_timestamp()));

  const auto check = [&](run_store& s) {
    const auto p = s.get_run(id).value().provenance;
    EXPECT_EQ(p.mask, mask);
    EXPECT_EQ(p.gpusoak_version, "0.1.0");
    EXPECT_EQ(p.gpusoak_commit, "c090ecf4fa14-dirty");
    EXPECT_EQ(p.plan_sha256, sha256_hex(plan));
    EXPECT_EQ(p.gl_vendor, first.gl_vendor);
    EXPECT_EQ(p.gl_renderer, first.gl_renderer);
    EXPECT_EQ(p.gl_version, first.gl_version);
    EXPECT_EQ(p.vendor_class, "mesa_software");
    const std::vector<strategy_record> strategies{{strategy_subject::scenario, "oom", "persistent_flush"},
                                                  {strategy_subject::usage, "stream_to_gpu", "staging_copy"},
                                                  {strategy_subject::usage, "gpu_to_cpu", "staging_copy"},
                                                  {strategy_subject::scenario, "conv2d_steady", "staging_copy"},
                                                  {strategy_subject::scenario, "oom", "staging_copy"}};
    EXPECT_EQ(p.strategies, strategies);
    EXPECT_EQ(s.list_runs(5).value().at(0).provenance, p);
  };
  check(store);

  // Final: the run's own record is closed.
  for (const auto& refused : {store.record_verdicts(id, {}), store.record_scenario_strategy(id, "leak_cycle", "x")}) {
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind, error_kind::conflict);
    EXPECT_NE(refused.error().message.find("passed (final)"), std::string::npos) << refused.error().message;
  }
  EXPECT_EQ(store.record_context(id, later).error().kind, error_kind::conflict);
  EXPECT_EQ(store.verdicts(id).value(), (std::vector<threshold_result>{{"copies_total == 0", 0, true}}));
  auto reopened = open_store();
  check(reopened);

  // A run created without a mask takes the first context's.
  auto bare = store.create_run({.plan_name = "smoke"}).value();
  ASSERT_TRUE(store.mark_running(bare, now_timestamp()));
  EXPECT_FALSE(store.get_run(bare).value().provenance.mask.has_value());
  ASSERT_TRUE(store.record_context(bare, first));
  EXPECT_EQ(store.get_run(bare).value().provenance.mask, "pinned");
}

// checks that ad-hoc evaluations are stored apart with their thresholds, time and rows (no data
// kept as null), read back in order, and leave the run's verdicts as they were
TEST_F(RunStoreTest, EvaluationsAreKeptApartFromVerdicts) {
  SCOPED_TRACE(::testing::Message() << "seed " << seed_);
  auto store = open_store();
  const std::vector<threshold_result> verdicts{{"copies_total == 0", 3, false}, {"errors_total == 0", 0, true}};
  const auto id = test::stored_run_builder(store, {.plan_name = "smoke"})
                      .running()
                      .verdicts(verdicts)
                      .finish(run_state::failed, "gate: 1 of 2 thresholds failed")
                      .id();
  std::vector<stored_evaluation> saved;
  for (int i = 0; i < 3; ++i) {
    stored_evaluation e{.evaluated_at = at_ms(nov23_noon_ms + i),
                        .basis = random_text(30),
                        .warmup_fraction = random_double(0, 0.9),
                        .exit_code = static_cast<int>(random_int(0, 3))};
    for (int r = 0; r < i + 2; ++r) {
      e.rows.push_back({.threshold = random_text(40),
                        .status = r == 0   ? "no_data"
                                  : r == 1 ? "failed"
                                  : r == 2 ? "not_enough_data"
                                           : "passed",
                        .observed = r == 0 ? std::nullopt : std::optional<double>(random_double(-1e9, 1e9)),
                        .limit = random_double(0, 1),
                        .detail = random_text(60)});
    }
    auto stored = store.save_evaluation(id, e);
    ASSERT_TRUE(stored) << stored.error().message;
    e.id = *stored;
    if (!saved.empty()) {
      EXPECT_GT(e.id, saved.back().id);
    }
    saved.push_back(e);
  }
  EXPECT_EQ(store.evaluations(id).value(), saved);
  EXPECT_EQ(store.verdicts(id).value(), verdicts);
  EXPECT_EQ(store.get_run(id).value().state, run_state::failed);
  auto bad = store.save_evaluation(id, {.rows = {{.threshold = "x", .status = "maybe"}}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, error_kind::validation);
  EXPECT_NE(bad.error().message.find("'maybe'"), std::string::npos) << bad.error().message;
  EXPECT_EQ(store.evaluations(id).value().size(), 3u);
}

// checks that a file that is not a SQLite database is refused as io, naming the file
TEST_F(RunStoreTest, NotADatabaseIsRefused) {
  {
    std::FILE* f = std::fopen(db_path().c_str(), "wb");
    ASSERT_NE(f, nullptr);
    const std::string junk(4096, 'j');
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
  }
  auto refused = run_store::open(db_path());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, error_kind::io);
  EXPECT_NE(refused.error().message.find("not a database"), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find(db_path()), std::string::npos) << refused.error().message;
}

// checks that a path SQLite cannot open (a directory where the file should be) is io, naming the
// path, and that a missing run and a state conflict are told apart by kind, not by their text
TEST_F(RunStoreTest, UnopenableFileIsIoAndKindsTellMissingFromConflict) {
  std::filesystem::create_directories(db_path());
  auto refused = run_store::open(db_path());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, error_kind::io) << refused.error().message;
  EXPECT_NE(refused.error().message.find(db_path()), std::string::npos) << refused.error().message;
  std::filesystem::remove(db_path());

  auto store = open_store();
  auto id = store.create_run({.plan_name = "smoke"}).value();
  ASSERT_TRUE(store.finish_run(id, run_state::aborted, "stopped", now_timestamp()));
  EXPECT_EQ(store.mark_running(id, now_timestamp()).error().kind, error_kind::conflict);
  EXPECT_EQ(store.mark_running("r-19990101-0001", now_timestamp()).error().kind, error_kind::not_found);
  EXPECT_EQ(store.finish_run("r-19990101-0001", run_state::aborted, "", now_timestamp()).error().kind,
            error_kind::not_found);
}

// checks that a full disk (file size limit) fails appends as out_of_space errors and the store stays readable
TEST_F(RunStoreTest, FullDiskIsOutOfSpaceAndStoreStaysReadable) {
  std::string id;
  {
    auto store = open_store();
    id = test::stored_run_builder(store, {.plan_name = "smoke"}).running().id();
  }
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child alone runs under the limit: writes past 512 KiB fail with EFBIG.
    close(fds[0]);
    signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{512 * 1024, 512 * 1024};
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(2);
    auto store = run_store::open(db_path());
    if (!store) _exit(3);
    const std::string pad(8 * 1024, 'x');
    std::int64_t appended = 0;
    for (; appended < 10'000; ++appended) {
      auto r = store->append_sample(
          id, {.t_seconds = static_cast<double>(appended), .extra_json = "{\"pad\": \"" + pad + "\"}"});
      if (!r) {
        if (r.error().kind != error_kind::out_of_space) _exit(4);
        if (r.error().message.find("sqlite") == std::string::npos) _exit(5);
        break;
      }
    }
    if (appended == 10'000) _exit(6);  // the limit never bit
    auto run = store->get_run(id);     // reads still work
    if (!run || run->sample_count != appended) _exit(7);
    if (write(fds[1], &appended, sizeof appended) != sizeof appended) _exit(8);
    _exit(0);
  }
  close(fds[1]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  ASSERT_EQ(WEXITSTATUS(status), 0) << "child check failed (see the exit codes in the test)";
  std::int64_t appended = 0;
  ASSERT_EQ(read(fds[0], &appended, sizeof appended), static_cast<ssize_t>(sizeof appended));
  close(fds[0]);
  EXPECT_GT(appended, 0);

  auto store = open_store();
  EXPECT_TRUE(store.integrity_check());
  EXPECT_EQ(store.get_run(id).value().sample_count, appended);
  EXPECT_TRUE(store.append_sample(id, {.t_seconds = 1e6}));  // room again: writes work
}

}  // namespace
}  // namespace gpusoak::harness
