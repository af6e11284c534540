#include "gpusoak/harness/fleet_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "gpusoak/harness/xml_text.hpp"

namespace gpusoak::harness {
namespace {

using detail::xml_escape;

int exit_for(fleet_outcome outcome) noexcept {
  switch (outcome) {
    case fleet_outcome::passed: return 0;
    case fleet_outcome::failed: return 1;
    case fleet_outcome::aborted: return 3;
    default: return 2;
  }
}

int exit_for(promql_status status) noexcept {
  return status == promql_status::passed ? 0 : status == promql_status::failed ? 1 : 2;
}

// fail (1) outranks aborted (3), which outranks could not run (2).
int worse(int a, int b) noexcept {
  if (a == 1 || b == 1) return 1;
  return std::max(a, b);
}

std::string_view mark(int code) noexcept {
  return code == 0 ? "✓" : code == 1 ? "✗" : "?";
}

std::string run_name(const fleet_run_row& row) {
  return row.run_id.empty() ? std::string("-") : row.run_id;
}

}  // namespace

std::string_view to_string(fleet_outcome outcome) noexcept {
  switch (outcome) {
    case fleet_outcome::passed: return "passed";
    case fleet_outcome::failed: return "failed";
    case fleet_outcome::aborted: return "aborted";
    case fleet_outcome::could_not_run: return "could_not_run";
    case fleet_outcome::unreachable: return "unreachable";
    case fleet_outcome::refused: return "refused";
  }
  return "?";
}

fleet_outcome outcome_from_state(std::string_view state) noexcept {
  if (state == "passed") return fleet_outcome::passed;
  if (state == "failed") return fleet_outcome::failed;
  if (state == "aborted") return fleet_outcome::aborted;
  return fleet_outcome::could_not_run;
}

int fleet_report::exit_code() const noexcept {
  if (runs.empty()) return 2;
  int code = 0;
  for (const auto& row : runs) code = worse(code, exit_for(row.outcome));
  for (const auto& check : checks) code = worse(code, exit_for(check.status));
  return code;
}

std::string format_fleet_table(const fleet_report& report) {
  std::size_t machine_w = 7, run_w = 3;
  for (const auto& row : report.runs) {
    machine_w = std::max(machine_w, row.machine.size());
    run_w = std::max(run_w, run_name(row).size());
  }
  std::string text =
      fmt::format("{:<{}}  {:<{}}  {:>3}  {:<15}  {}\n", "machine", machine_w, "run", run_w, "gpu", "result", "detail");
  std::map<fleet_outcome, std::size_t> counts;
  for (const auto& row : report.runs) {
    ++counts[row.outcome];
    text += fmt::format("{:<{}}  {:<{}}  {:>3}  {} {:<13}  {}\n", row.machine, machine_w, run_name(row), run_w,
                        row.gpu ? std::to_string(*row.gpu) : "-", mark(exit_for(row.outcome)), to_string(row.outcome),
                        row.detail);
  }
  std::size_t checks_passed = 0;
  if (!report.checks.empty()) text += "\nPromQL checks on the fleet's Prometheus:\n";
  for (const auto& check : report.checks) {
    if (check.status == promql_status::passed) ++checks_passed;
    text += fmt::format("  {} {:<6}  {}\n      {}\n", mark(exit_for(check.status)), to_string(check.status), check.expr,
                        check.detail);
  }
  const int code = report.exit_code();
  const std::string_view verdict = code == 0 ? "PASS" : code == 1 ? "FAIL" : code == 3 ? "ABORTED" : "COULD NOT RUN";
  const std::size_t no_run =
      counts[fleet_outcome::could_not_run] + counts[fleet_outcome::unreachable] + counts[fleet_outcome::refused];
  text += fmt::format("\nfleet: {} passed, {} failed, {} aborted, {} could not run ({} unreachable, {} refused)",
                      counts[fleet_outcome::passed], counts[fleet_outcome::failed], counts[fleet_outcome::aborted],
                      no_run, counts[fleet_outcome::unreachable], counts[fleet_outcome::refused]);
  if (!report.checks.empty()) text += fmt::format("; PromQL {} of {} passed", checks_passed, report.checks.size());
  text += fmt::format(" -> {} (exit {})\n", verdict, code);
  return text;
}

std::string fleet_junit_xml(const fleet_report& report) {
  std::size_t failures = 0, errors = 0;
  for (const auto& row : report.runs) {
    const int code = exit_for(row.outcome);
    failures += code == 1;
    errors += code >= 2;
  }
  for (const auto& check : report.checks) {
    const int code = exit_for(check.status);
    failures += code == 1;
    errors += code >= 2;
  }
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += fmt::format(
      "<testsuites><testsuite name=\"gpusoak fleet\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\">\n",
      report.runs.size() + report.checks.size(), failures, errors);
  auto testcase = [&](const std::string& classname, const std::string& name, int code, std::string_view kind,
                      const std::string& detail) {
    const std::string body = xml_escape(detail);
    xml += fmt::format("  <testcase classname=\"{}\" name=\"{}\">", xml_escape(classname), xml_escape(name));
    if (code == 1) {
      xml += fmt::format("<failure message=\"{}\" type=\"{}\">{}</failure>", body, kind, body);
    } else if (code != 0) {
      xml += fmt::format("<error message=\"{}\" type=\"{}\">{}</error>", body, kind, body);
    } else {
      xml += fmt::format("<system-out>{}</system-out>", body);
    }
    xml += "</testcase>\n";
  };
  for (const auto& row : report.runs) {
    const std::string name =
        row.run_id.empty() ? "(no run)" : fmt::format("{} gpu {}", row.run_id, row.gpu.value_or(0));
    testcase("gpusoak.fleet." + row.machine, name, exit_for(row.outcome), to_string(row.outcome),
             fmt::format("{}: {}", to_string(row.outcome), row.detail));
  }
  for (const auto& check : report.checks) {
    testcase("gpusoak.fleet.promql", check.expr, exit_for(check.status), to_string(check.status), check.detail);
  }
  xml += "</testsuite></testsuites>\n";
  return xml;
}

std::string fleet_json(const fleet_report& report) {
  using nlohmann::json;
  json j;
  j["exit_code"] = report.exit_code();
  j["runs"] = json::array();
  for (const auto& row : report.runs) {
    j["runs"].push_back({{"machine", row.machine},
                         {"labels", row.labels},
                         {"run_id", row.run_id.empty() ? json(nullptr) : json(row.run_id)},
                         {"gpu", row.gpu ? json(*row.gpu) : json(nullptr)},
                         {"result", std::string(to_string(row.outcome))},
                         {"detail", row.detail}});
  }
  j["promql"] = json::array();
  for (const auto& check : report.checks) {
    j["promql"].push_back({{"expr", check.expr},
                           {"status", std::string(to_string(check.status))},
                           {"samples", check.samples},
                           {"detail", check.detail}});
  }
  return j.dump(2) + "\n";
}

}  // namespace gpusoak::harness
