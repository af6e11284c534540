// A daemon's runs.db read as a bystander does: the real SQLite file opened read-only with the
// sqlite3 API (not through run_store, which opens it for writing and sets its own pragmas), so a
// test sees exactly what a crash or a full disk left on disk.
#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace gpusoak::test {

// One stored sample: its rowid, plan time and scenario, and every column as SQLite prints it
// (two reads of the same stored row compare equal; a changed value does not).
struct stored_sample {
  std::int64_t seq = 0;
  double t_seconds = 0;
  std::string scenario;
  std::vector<std::string> columns;
  bool operator==(const stored_sample&) const = default;
};

class store_file {
 public:
  // Throws (failing the test) when the file cannot be opened.
  explicit store_file(const std::filesystem::path& db) {
    if (sqlite3_open_v2(db.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      const std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close_v2(db_);
      throw std::runtime_error("cannot open " + db.string() + " read-only: " + why);
    }
    sqlite3_busy_timeout(db_, 5000);  // a running daemon may be committing
  }
  ~store_file() { sqlite3_close_v2(db_); }
  store_file(const store_file&) = delete;
  store_file& operator=(const store_file&) = delete;

  // PRAGMA integrity_check's lines joined: "ok" for a sound file.
  [[nodiscard]] std::string integrity_check() const {
    std::string out;
    for (const auto& row : rows("PRAGMA integrity_check", {})) out += (out.empty() ? "" : "; ") + row.at(0);
    return out;
  }

  // The run's samples in insertion (seq) order.
  [[nodiscard]] std::vector<stored_sample> samples(const std::string& run_id) const {
    std::vector<stored_sample> out;
    for (auto& row : rows("SELECT seq, t_seconds, scenario, * FROM samples WHERE run_id = ?1 ORDER BY seq", run_id)) {
      stored_sample s{.seq = std::stoll(row.at(0)), .t_seconds = std::stod(row.at(1)), .scenario = row.at(2)};
      s.columns.assign(row.begin() + 3, row.end());
      out.push_back(std::move(s));
    }
    return out;
  }

  // The run's state column ("" when there is no such run).
  [[nodiscard]] std::string run_state(const std::string& run_id) const {
    const auto found = rows("SELECT state FROM runs WHERE id = ?1", run_id);
    return found.empty() ? std::string() : found.front().at(0);
  }

  // Every row of `sql` (one text parameter ?1 when `param` is not empty), columns as text.
  [[nodiscard]] std::vector<std::vector<std::string>> rows(const std::string& sql, const std::string& param) const {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
      throw std::runtime_error(sql + ": " + sqlite3_errmsg(db_));
    if (!param.empty()) sqlite3_bind_text(stmt, 1, param.c_str(), -1, SQLITE_TRANSIENT);
    std::vector<std::vector<std::string>> out;
    int rc = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
        const auto* text = sqlite3_column_text(stmt, c);
        row.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text) : "NULL");
      }
      out.push_back(std::move(row));
    }
    const std::string why = sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) throw std::runtime_error(sql + ": " + why);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace gpusoak::test
