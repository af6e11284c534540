// `gpusoak report RUN_ID --db FILE [--json] [--html FILE]`: a stored run's summary on stdout, or
// one self-contained HTML page with charts.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <ostream>

#include "gpusoak/harness/cli_args.hpp"
#include "gpusoak/harness/commands.hpp"
#include "gpusoak/harness/report.hpp"
#include "gpusoak/harness/run_store.hpp"

namespace gpusoak::harness {
namespace {

constexpr const char* summary =
    "Summarises a stored run: plan, device, state and reason, times, phases, sample and event counts,\n"
    "the last figures per scenario, error events, and the gate table (the plan's thresholds re-evaluated\n"
    "on the samples; the stored verdicts when the plan has none). Reads the store, never writes it.\n"
    "--html writes one self-contained page (no network needed to open it) with the verdict, the gate\n"
    "table and charts over run time: live bytes, RSS, latency quantiles, copies by path, failures.\n"
    "Exit codes: 0 report written, 2 could not (unknown run, no store file, bad flag, unwritable file).";

}  // namespace

int report_command(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  const std::vector<flag_spec> specs{
      {"db", "FILE", "the run store (SQLite file) holding the run; required"},
      {"json", "", "print the summary as JSON instead of text"},
      {"html", "FILE", "write the HTML report to FILE (the summary is not printed)"},
  };
  auto parsed = cli_args::parse(args, specs, 1);
  if (!parsed) {
    err << "gpusoak report: " << parsed.error().message << "\n";
    return exit_could_not_run;
  }
  if (parsed->help()) {
    out << usage_text("report RUN_ID", summary, specs);
    return exit_pass;
  }
  if (parsed->positional().empty()) {
    err << "gpusoak report: missing RUN_ID (gpusoak report RUN_ID --db FILE)\n";
    return exit_could_not_run;
  }
  const std::string run_id = parsed->positional().front();
  const auto db = parsed->value("db");
  if (!db || db->empty()) {
    err << "gpusoak report: --db FILE is required (the run store holding the run)\n";
    return exit_could_not_run;
  }
  const auto html = parsed->value("html");
  if (html && html->empty()) {
    err << "gpusoak report: --html needs a file name\n";
    return exit_could_not_run;
  }
  // Opening a missing path would create an empty store; a typo deserves an error instead.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(*db, ec)) {
    err << fmt::format("gpusoak report: --db '{}': no such run store file\n", *db);
    return exit_could_not_run;
  }
  auto store = run_store::open(*db);
  if (!store) {
    err << fmt::format("gpusoak report: --db '{}': {}\n", *db, store.error().message);
    return exit_could_not_run;
  }
  auto report = load_report(*store, run_id);
  if (!report) {
    err << "gpusoak report: " << report.error().message << "\n";
    return exit_could_not_run;
  }
  if (html) {
    std::ofstream file(*html, std::ios::binary | std::ios::trunc);
    if (file) file << report_html(*report);
    file.close();
    if (!file) {
      err << fmt::format("gpusoak report: --html '{}': cannot write the file\n", *html);
      return exit_could_not_run;
    }
    out << fmt::format("report of run {} ({}) written to {}\n", run_id, to_string(report->run.state), *html);
    return exit_pass;
  }
  out << (parsed->has("json") ? report_json(*report) : format_report_text(*report));
  return exit_pass;
}

}  // namespace gpusoak::harness
