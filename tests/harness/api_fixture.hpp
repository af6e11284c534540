// gpusoakd's HTTP API in process, with real parts and no GPU work: a real run store (a SQLite file
// in a temp dir) holding two runs, the shipped plans, real metrics, and a run_manager that was shut
// down, so a request to start a run goes through every validation and then gets 503 instead of
// starting a soak. handle_request answers as it does in the daemon. Shared by http_api_test and the
// fuzz_http harness; no gtest in here.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "gpusoak/harness/daemon_metrics.hpp"
#include "gpusoak/harness/http_api.hpp"
#include "gpusoak/harness/run_manager.hpp"
#include "gpusoak/harness/run_store.hpp"
#include "report_fixture.hpp"
#include "stored_run_builder.hpp"
#include "temp_store.hpp"

namespace gpusoak::test {

class api_fixture {
 public:
  static constexpr const char* token = "fuzz-token-0123456789abcdef";
  // Fixed creation dates, so the run ids are the same on every day (fuzz seeds name them).
  static constexpr const char* failed_run = "r-20261124-0001";  // samples, events, phases, verdicts
  static constexpr const char* broken_run = "r-20261124-0002";  // queued; its plan does not parse
  static constexpr const char* broken_plan = "name: [not a plan\n";

  // Throws when the store cannot be made. plans_dir: where plan names are looked up.
  explicit api_fixture(const std::filesystem::path& plans_dir)
      : store_("gpusoak-api"),
        metrics_("test"),
        runs_(*store_, &metrics_, {.context = {}, .plans_dirs = {plans_dir}}),
        open_{.store = *store_, .runs = runs_, .metrics = metrics_, .token = std::nullopt, .version = "test"},
        tokened_{.store = *store_, .runs = runs_, .metrics = metrics_, .token = token, .version = "test"} {
    runs_.shutdown();
    const harness::timestamp day{std::chrono::sys_days{std::chrono::year{2026} / 11 / 24}};
    const auto run = make_synthetic_run(*store_, {.created_at = day});
    if (run.id != failed_run) throw std::runtime_error("synthetic run got id " + run.id);
    const auto broken =
        stored_run_builder(*store_, {.plan_name = "broken", .plan_text = broken_plan, .device = "0", .created_at = day})
            .id();
    if (broken != broken_run) throw std::runtime_error("the broken run was stored as " + broken);
  }

  // The API without a token (the loopback default) and with `token`.
  harness::http_response open(const harness::http_request& request) { return handle_request(request, open_); }
  harness::http_response tokened(const harness::http_request& request) { return handle_request(request, tokened_); }
  // The store the API answers from, for tests that look behind it.
  harness::run_store& store() { return *store_; }
  // The store's file, for tests that change it behind the store's back.
  std::filesystem::path db_path() const { return store_.db_path(); }

 private:
  temp_store store_;
  harness::daemon_metrics metrics_;
  harness::run_manager runs_;
  harness::api_context open_;
  harness::api_context tokened_;
};

}  // namespace gpusoak::test
