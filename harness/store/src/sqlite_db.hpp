// A small RAII wrapper over sqlite3* and sqlite3_stmt*: prepared statements cached per
// connection, errors as result<> values naming the SQL step and sqlite3_errmsg. Private to
// the harness (the run store is its only user).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "gpusoak/error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace gpusoak::harness::detail {

// A prepared statement in use: bound, stepped, and reset (bindings cleared) when it goes out
// of scope, so no read transaction stays open behind a half-read SELECT.
class database;

class statement {
 public:
  statement(database& owner, sqlite3_stmt* stmt, std::string_view sql) noexcept
      : owner_(&owner), stmt_(stmt), sql_(sql) {}
  statement(statement&& other) noexcept;
  statement& operator=(statement&&) = delete;
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  ~statement();

  // Parameters are 1-based, as in SQLite.
  [[nodiscard]] result<void> bind(int index, std::int64_t value);
  [[nodiscard]] result<void> bind(int index, double value);
  [[nodiscard]] result<void> bind(int index, std::string_view value);
  [[nodiscard]] result<void> bind_null(int index);

  // Binds every argument in order (1, 2, ...); std::nullopt binds NULL.
  template <class... Args>
  [[nodiscard]] result<void> bind_all(const Args&... args) {
    int index = 0;
    result<void> outcome;
    ((outcome = outcome ? bind_one(++index, args) : outcome), ...);
    return outcome;
  }

  // true: a row is ready; false: done.
  [[nodiscard]] result<bool> step();
  // Steps a statement that returns no rows (or whose rows do not matter).
  [[nodiscard]] result<void> run();

  [[nodiscard]] std::int64_t column_int64(int column) const noexcept;
  [[nodiscard]] double column_double(int column) const noexcept;
  [[nodiscard]] std::string column_text(int column) const;
  [[nodiscard]] bool column_is_null(int column) const noexcept;
  [[nodiscard]] std::optional<std::int64_t> column_optional_int64(int column) const noexcept;
  [[nodiscard]] std::optional<double> column_optional_double(int column) const noexcept;

 private:
  result<void> bind_one(int index, std::int64_t value) { return bind(index, value); }
  result<void> bind_one(int index, int value) { return bind(index, std::int64_t{value}); }
  result<void> bind_one(int index, bool value) { return bind(index, std::int64_t{value ? 1 : 0}); }
  result<void> bind_one(int index, double value) { return bind(index, value); }
  result<void> bind_one(int index, std::string_view value) { return bind(index, value); }
  result<void> bind_one(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  result<void> bind_one(int index, std::nullopt_t) { return bind_null(index); }
  template <class T>
  result<void> bind_one(int index, const std::optional<T>& value) {
    return value ? bind_one(index, *value) : bind_null(index);
  }
  result<void> check_bind(int rc, int index);

  database* owner_;
  sqlite3_stmt* stmt_;  // owned by the database's cache, not by this object
  std::string_view sql_;
};

// One connection. Not thread-safe by itself: the run store serialises calls with its mutex.
class database {
 public:
  // Opens or creates the file (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | FULLMUTEX off).
  [[nodiscard]] static result<database> open(const std::string& path);

  database(database&& other) noexcept;
  database& operator=(database&&) = delete;
  database(const database&) = delete;
  database& operator=(const database&) = delete;
  ~database();

  // Runs SQL text (several statements allowed, no parameters, rows ignored).
  [[nodiscard]] result<void> exec(std::string_view sql);
  // A cached prepared statement for `sql`, which must outlive the database (a literal).
  [[nodiscard]] result<statement> prepare(std::string_view sql);
  // The first column of the first row of `sql` as text ("" when no row).
  [[nodiscard]] result<std::string> query_text(std::string_view sql);
  [[nodiscard]] result<std::int64_t> query_int64(std::string_view sql);

  [[nodiscard]] bool in_transaction() const noexcept;
  [[nodiscard]] sqlite3* handle() const noexcept { return db_; }

  // sqlite_error for the step that just failed on this connection. A failure for lack of space
  // (out_of_space()) is kind out_of_space, whatever SQLite's code, with a message that names the
  // file and what to do.
  [[nodiscard]] std::unexpected<error> fail(std::string_view step);
  // Whether a failure since the last forget_failure() was for lack of space: SQLITE_FULL (ENOSPC on
  // a write), or an I/O error with errno ENOSPC, EDQUOT or EFBIG, or one met while a file of the
  // database is at the process's file size limit (RLIMIT_FSIZE) or its file system has no free
  // block (SQLite often loses the errno of a failed WAL write before it reports the error).
  [[nodiscard]] bool out_of_space() const noexcept { return !out_of_space_.empty(); }
  // The message of that failure ("" when there was none).
  [[nodiscard]] const std::string& out_of_space_message() const noexcept { return out_of_space_; }
  void forget_failure() noexcept { out_of_space_.clear(); }
  // Rows inserted, updated or deleted on this connection so far (sqlite3_total_changes64).
  [[nodiscard]] std::int64_t total_changes() const noexcept;

 private:
  database(sqlite3* db, std::string path) noexcept : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
  std::string out_of_space_;                         // the last failure for lack of space since forget_failure()
  std::map<std::string_view, sqlite3_stmt*> cache_;  // finalised before the close
};

// BEGIN IMMEDIATE on construction (through begin()); ROLLBACK on destruction unless
// commit() succeeded. A failed COMMIT rolls back too, so the connection is left with no open
// transaction whatever happens.
class transaction {
 public:
  [[nodiscard]] static result<transaction> begin(database& db);
  transaction(transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  transaction& operator=(transaction&&) = delete;
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  ~transaction();

  [[nodiscard]] result<void> commit();

 private:
  explicit transaction(database& db) noexcept : db_(&db) {}
  void rollback() noexcept;
  database* db_;
};

// "sqlite: <step>: <sqlite3_errmsg> (extended code N[, errno E: text])". Kind by SQLite's code:
// SQLITE_FULL out_of_space, SQLITE_CONSTRAINT conflict, SQLITE_MISUSE and SQLITE_RANGE internal,
// any other io (unreadable, read-only, corrupt, locked, not a database).
[[nodiscard]] std::unexpected<error> sqlite_error(sqlite3* db, std::string_view step);

}  // namespace gpusoak::harness::detail
