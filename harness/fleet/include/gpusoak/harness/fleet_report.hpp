// The outcome of `gpusoak fleet`: one row per machine and run (GPU), one per PromQL check, the
// fleet's verdict and its table, JUnit and JSON forms. Pure data and formatting; no network.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gpusoak/harness/promql_check.hpp"

namespace gpusoak::harness {

// What became of one machine's run. unreachable: the daemon did not answer (at start, or while
// followed, after retries); refused: it answered the start with an error (409 busy, 400, 401...).
enum class fleet_outcome { passed, failed, aborted, could_not_run, unreachable, refused };
[[nodiscard]] std::string_view to_string(fleet_outcome outcome) noexcept;
// A daemon's final run state: passed, failed, aborted; anything else could_not_run.
[[nodiscard]] fleet_outcome outcome_from_state(std::string_view state) noexcept;

struct fleet_run_row {
  std::string machine;  // "host:port" from the targets file
  std::map<std::string, std::string> labels;
  std::string run_id;      // empty when no run started
  std::optional<int> gpu;  // empty when no run started
  fleet_outcome outcome = fleet_outcome::could_not_run;
  std::string detail;  // the run's verdict and gate counts, or why there is no verdict
};

struct fleet_report {
  std::vector<fleet_run_row> runs;
  std::vector<promql_check> checks;

  // 1 when any run or PromQL check failed (a failure outranks everything); else 3 when any run was
  // aborted; else 2 when any run could not run, was unreachable or refused, or a check could not
  // be evaluated, or there are no rows; else 0. The same order as `gpusoak run` on several GPUs.
  [[nodiscard]] int exit_code() const noexcept;
};

// Aligned rows (machine, run, gpu, result, detail), the PromQL checks, then one verdict line:
// "fleet: 2 passed, 0 failed, 1 could not run, 0 aborted; PromQL 1 of 2 passed -> FAIL (exit 1)".
[[nodiscard]] std::string format_fleet_table(const fleet_report& report);
// <testsuite name="gpusoak fleet">: one <testcase> per run row (classname gpusoak.fleet.MACHINE)
// and per check (classname gpusoak.fleet.promql). Failed ones carry <failure>; aborted,
// unreachable, refused, could-not-run rows and unevaluated checks carry <error>, so CI never
// reads them as a pass.
[[nodiscard]] std::string fleet_junit_xml(const fleet_report& report);
// {"exit_code", "runs": [{"machine", "labels", "run_id", "gpu", "result", "detail"}],
//  "promql": [{"expr", "status", "samples", "detail"}]}; run_id and gpu null when no run started.
[[nodiscard]] std::string fleet_json(const fleet_report& report);

}  // namespace gpusoak::harness
