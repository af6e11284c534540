// `gpusoak report RUN_ID --db FILE|--daemon URL [--json] [--html FILE]`: a stored run's summary on
// stdout, or one self-contained HTML page with charts. With --daemon the daemon builds the document
// (GET /api/v1/runs/{id}/report) from its store with the same code, so both ways print the same.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string_view>

#include "gpusoak/harness/cli_args.hpp"
#include "gpusoak/harness/commands.hpp"
#include "gpusoak/harness/http_client.hpp"
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
    "--daemon URL asks a gpusoakd instead of reading a store file: the daemon builds the same report.\n"
    "Exit codes: 0 report written, 2 could not (unknown run, no store file, daemon unreachable or refusing,\n"
    "bad flag, unwritable file).";

// The report as text, JSON or HTML from a local store; nullopt after printing why not.
std::optional<std::string> from_store(const std::string& db, const std::string& run_id, std::string_view format,
                                      std::ostream& err) {
  // Opening a missing path would create an empty store; a typo deserves an error instead.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(db, ec)) {
    err << fmt::format("gpusoak report: --db '{}': no such run store file\n", db);
    return std::nullopt;
  }
  auto store = run_store::open(db);
  if (!store) {
    err << fmt::format("gpusoak report: --db: {}\n", store.error().message);
    return std::nullopt;
  }
  auto report = load_report(*store, run_id);
  if (!report) {
    err << "gpusoak report: " << report.error().message << "\n";
    return std::nullopt;
  }
  if (format == "html") return report_html(*report);
  return format == "json" ? report_json(*report) : format_report_text(*report);
}

// The same document from gpusoakd's GET /api/v1/runs/{id}/report; nullopt after printing why not.
std::optional<std::string> from_daemon(const std::string& url_text, const std::string& run_id, std::string_view format,
                                       std::ostream& err) {
  auto url = parse_daemon_url(url_text);
  if (!url) {
    err << "gpusoak report: " << url.error().message << "\n";
    return std::nullopt;
  }
  // The id becomes part of the request path: refuse what would change the path or the query.
  if (run_id.empty() || run_id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
                            std::string::npos) {
    err << fmt::format("gpusoak report: '{}' is not a run id (letters, digits, '-', '_', '.')\n", run_id);
    return std::nullopt;
  }
  auto reply = http_call(*url, "GET", fmt::format("/api/v1/runs/{}/report?format={}", run_id, format));
  if (!reply) {
    err << "gpusoak report: " << reply.error().message << "\n";
    return std::nullopt;
  }
  if (reply->status != 200) {
    const auto j = nlohmann::json::parse(reply->body, nullptr, false);
    const bool ours = j.is_object() && j.contains("error") && j["error"].is_string();
    err << fmt::format("gpusoak report: {} answered {}: {}\n", url->text(), reply->status,
                       ours ? j["error"].get<std::string>() : reply->body);
    return std::nullopt;
  }
  return std::move(reply->body);
}

}  // namespace

int report_command(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  const std::vector<flag_spec> specs{
      {"db", "FILE", "the run store (SQLite file) holding the run (or --daemon URL)"},
      {"daemon", "URL", "ask gpusoakd (http://HOST[:PORT]) to build the report from its run store"},
      {"json", "", "print the summary as JSON instead of text"},
      {"html", "FILE", "write the HTML report to FILE (the summary is not printed)"},
  };
  auto parsed = parse_command_line(
      {.usage = "report RUN_ID", .summary = summary, .flags = specs, .required_positional = 1, .max_positional = 1},
      args, out, err);
  if (!parsed) return parsed.error();
  const std::string run_id = parsed->positional().front();
  const auto db = parsed->value("db");
  const auto daemon = parsed->value("daemon");
  if (db && daemon) {
    err << "gpusoak report: --db and --daemon cannot be combined: the report comes from one run store\n";
    return exit_could_not_run;
  }
  if ((!db && !daemon) || (db && db->empty()) || (daemon && daemon->empty())) {
    err << "gpusoak report: --db FILE or --daemon URL is required (the run store holding the run, or the "
           "gpusoakd that ran it)\n";
    return exit_could_not_run;
  }
  const auto html = parsed->value("html");
  if (html && html->empty()) {
    err << "gpusoak report: --html needs a file name\n";
    return exit_could_not_run;
  }
  const std::string_view format = html ? "html" : parsed->has("json") ? "json" : "text";
  const auto document = db ? from_store(*db, run_id, format, err) : from_daemon(*daemon, run_id, format, err);
  if (!document) return exit_could_not_run;
  if (!html) {
    out << *document;
    return exit_pass;
  }
  std::ofstream file(*html, std::ios::binary | std::ios::trunc);
  if (file) file << *document;
  file.close();
  if (!file) {
    err << fmt::format("gpusoak report: --html '{}': cannot write the file\n", *html);
    return exit_could_not_run;
  }
  out << fmt::format("report of run {} written to {}\n", run_id, *html);
  return exit_pass;
}

}  // namespace gpusoak::harness
