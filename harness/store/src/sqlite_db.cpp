#include "sqlite_db.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

namespace gpusoak::harness::detail {

// The kind of a failed SQLite call, from its primary result code: a full disk is out_of_space, a
// broken constraint a conflict, a misuse of the API a bug (internal), anything else the file's or
// the disk's fault (io: unreadable, read-only, corrupt, locked, not a database).
error_kind kind_of(int primary_code) noexcept {
  switch (primary_code) {
    case SQLITE_FULL: return error_kind::out_of_space;
    case SQLITE_CONSTRAINT: return error_kind::conflict;
    case SQLITE_MISUSE:
    case SQLITE_RANGE: return error_kind::internal;
    default: return error_kind::io;
  }
}

std::unexpected<error> sqlite_error(sqlite3* db, std::string_view step) {
  if (db == nullptr) return make_error(error_kind::internal, fmt::format("sqlite: {}: no connection", step));
  // The extended code tells SQLITE_IOERR_WRITE (778) from SQLITE_IOERR_FSYNC (1034) and so on; the
  // errno behind an I/O error tells EFBIG from EIO.
  const int code = sqlite3_extended_errcode(db);
  std::string cause;
  if ((code & 0xff) == SQLITE_IOERR || (code & 0xff) == SQLITE_CANTOPEN) {
    const int system = sqlite3_system_errno(db);
    if (system != 0) cause = fmt::format(", errno {}: {}", system, std::strerror(system));
  }
  return make_error(kind_of(code & 0xff),
                    fmt::format("sqlite: {}: {} (extended code {}{})", step, sqlite3_errmsg(db), code, cause));
}

namespace {

// The SQL named in an error: its first line, shortened.
std::string sql_summary(std::string_view sql) {
  while (!sql.empty() && (sql.front() == ' ' || sql.front() == '\n')) sql.remove_prefix(1);
  sql = sql.substr(0, sql.find('\n'));
  if (sql.size() > 72) return std::string(sql.substr(0, 72)) + "...";
  return std::string(sql);
}

// Whether the database at `path` cannot grow: one of its files is within a commit's worth of
// the process's file size limit, or its file system has no such room left for this process. An
// I/O error met in that state is taken for lack of space: seen with RLIMIT_FSIZE on SQLite 3.40,
// whose failed WAL write reports SQLITE_IOERR_WRITE with sqlite3_system_errno() 0, not EFBIG.
bool no_room_to_grow(const std::string& path) {
  constexpr std::uint64_t commit_bytes = 64 * 1024;
  if (path.empty() || path == ":memory:") return false;
  rlimit limit{};
  if (::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      struct stat file {};
      if (::stat((path + suffix).c_str(), &file) == 0 &&
          static_cast<std::uint64_t>(file.st_size) + commit_bytes > limit.rlim_cur) {
        return true;
      }
    }
  }
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) return false;
  const std::uint64_t free_blocks = ::geteuid() == 0 ? fs.f_bfree : fs.f_bavail;  // root may use the reserve
  return free_blocks * fs.f_frsize < commit_bytes;
}

}  // namespace

statement::statement(statement&& other) noexcept
    : owner_(other.owner_), stmt_(std::exchange(other.stmt_, nullptr)), sql_(other.sql_) {}

statement::~statement() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

result<void> statement::check_bind(int rc, int index) {
  if (rc == SQLITE_OK) return {};
  return owner_->fail(fmt::format("binding parameter {} of '{}'", index, sql_summary(sql_)));
}

result<void> statement::bind(int index, std::int64_t value) {
  return check_bind(sqlite3_bind_int64(stmt_, index, value), index);
}

result<void> statement::bind(int index, double value) {
  return check_bind(sqlite3_bind_double(stmt_, index, value), index);
}

result<void> statement::bind(int index, std::string_view value) {
  return check_bind(sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
                    index);
}

result<void> statement::bind_null(int index) {
  return check_bind(sqlite3_bind_null(stmt_, index), index);
}

result<bool> statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return owner_->fail(fmt::format("running '{}'", sql_summary(sql_)));
}

result<void> statement::run() {
  for (;;) {
    GPUSOAK_TRY_ASSIGN(const bool row, step());
    if (!row) return {};
  }
}

std::int64_t statement::column_int64(int column) const noexcept {
  return sqlite3_column_int64(stmt_, column);
}

double statement::column_double(int column) const noexcept {
  return sqlite3_column_double(stmt_, column);
}

std::string statement::column_text(int column) const {
  const auto* text = sqlite3_column_text(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);  // after column_text, as SQLite asks
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
}

bool statement::column_is_null(int column) const noexcept {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::optional<std::int64_t> statement::column_optional_int64(int column) const noexcept {
  if (column_is_null(column)) return std::nullopt;
  return column_int64(column);
}

std::optional<double> statement::column_optional_double(int column) const noexcept {
  if (column_is_null(column)) return std::nullopt;
  return column_double(column);
}

result<database> database::open(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  database owner(db, path);  // closes db on every path, also when the open failed
  if (rc != SQLITE_OK) return sqlite_error(db, "opening");
  sqlite3_extended_result_codes(db, 1);
  return owner;
}

database::database(database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      path_(std::move(other.path_)),
      out_of_space_(std::move(other.out_of_space_)),
      cache_(std::exchange(other.cache_, {})) {}

std::unexpected<error> database::fail(std::string_view step) {
  const int code = sqlite3_extended_errcode(db_) & 0xff;
  const int system = sqlite3_system_errno(db_);
  auto error = sqlite_error(db_, step);
  const bool no_space =
      code == SQLITE_FULL ||
      (code == SQLITE_IOERR && (system == ENOSPC || system == EDQUOT || system == EFBIG || no_room_to_grow(path_)));
  if (no_space) {
    out_of_space_ = fmt::format(
        "disk full: the disk holding the run store '{}' is full or the daemon's file size limit is reached ({}); free "
        "space and restart gpusoakd: interrupted runs resume from their last stored sample",
        path_, error.error().message);
    error.error() = {error_kind::out_of_space, out_of_space_};
  }
  return error;
}

std::int64_t database::total_changes() const noexcept {
  return sqlite3_total_changes64(db_);
}

database::~database() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

result<void> database::exec(std::string_view sql) {
  const std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
    return fail(fmt::format("running '{}'", sql_summary(sql)));
  return {};
}

result<statement> database::prepare(std::string_view sql) {
  if (auto it = cache_.find(sql); it != cache_.end()) return statement(*this, it->second, sql);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) !=
      SQLITE_OK)
    return fail(fmt::format("preparing '{}'", sql_summary(sql)));
  cache_.emplace(sql, stmt);
  return statement(*this, stmt, sql);
}

result<std::string> database::query_text(std::string_view sql) {
  GPUSOAK_TRY_ASSIGN(auto stmt, prepare(sql));
  GPUSOAK_TRY_ASSIGN(const bool row, stmt.step());
  return row ? stmt.column_text(0) : std::string();
}

result<std::int64_t> database::query_int64(std::string_view sql) {
  GPUSOAK_TRY_ASSIGN(auto stmt, prepare(sql));
  GPUSOAK_TRY_ASSIGN(const bool row, stmt.step());
  return row ? stmt.column_int64(0) : 0;
}

bool database::in_transaction() const noexcept {
  return sqlite3_get_autocommit(db_) == 0;
}

result<transaction> transaction::begin(database& db) {
  GPUSOAK_TRY(db.exec("BEGIN IMMEDIATE"));
  return transaction(db);
}

transaction::~transaction() {
  rollback();
}

void transaction::rollback() noexcept {
  // After SQLITE_FULL or SQLITE_IOERR SQLite may have rolled back on its own already.
  if (db_ != nullptr && db_->in_transaction()) sqlite3_exec(db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  db_ = nullptr;
}

result<void> transaction::commit() {
  auto committed = db_->exec("COMMIT");
  if (!committed) {
    rollback();
    return committed;
  }
  db_ = nullptr;
  return {};
}

}  // namespace gpusoak::harness::detail
