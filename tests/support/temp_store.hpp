// A run store on a real SQLite file in a fresh directory of its own, for tests that fill a store
// (stored_run_builder.hpp) and read it back through the harness or the CLI (db_path()). The store
// closes before its directory is removed. No gtest in here (fuzz_http shares it).
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

#include "gpusoak/harness/run_store.hpp"
#include "temp_dir.hpp"

namespace gpusoak::test {

class temp_store {
 public:
  // Throws (failing the test) when the directory or the store cannot be made. `file` is the
  // store's name in the directory.
  explicit temp_store(const std::string& prefix, const std::string& file = "runs.db")
      : dir_(prefix), db_(dir_ / file), store_(open(db_)) {}

  harness::run_store& operator*() noexcept { return store_; }
  harness::run_store* operator->() noexcept { return &store_; }

  // The store's file, for a CLI's --db or a second connection.
  [[nodiscard]] std::string db_path() const { return db_.string(); }
  // The store's directory, for the other files a test writes (reports, JUnit, plans).
  [[nodiscard]] const temp_dir& dir() const noexcept { return dir_; }

 private:
  static harness::run_store open(const std::filesystem::path& db) {
    auto store = harness::run_store::open(db.string());
    if (!store) throw std::runtime_error("cannot open the run store " + db.string() + ": " + store.error().message);
    return std::move(*store);
  }

  temp_dir dir_;  // declared first: it outlives the store
  std::filesystem::path db_;
  harness::run_store store_;
};

}  // namespace gpusoak::test
