// `gpusoak gate RUN_ID --db FILE`: a stored run's thresholds evaluated, printed as a table (and
// JUnit XML / JSON on request), and the exit code CI acts on. It never changes the run's own
// verdicts (its runner stored them when the run ended); --save keeps an ad-hoc evaluation apart.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>

#include "gpusoak/harness/cli_args.hpp"
#include "gpusoak/harness/commands.hpp"
#include "gpusoak/harness/gate.hpp"
#include "gpusoak/harness/http_client.hpp"
#include "gpusoak/harness/run_store.hpp"
#include "gpusoak/scenarios/plan.hpp"

namespace gpusoak::harness {
namespace {

constexpr const char* summary =
    "Evaluates a stored run's thresholds on its samples and prints one line per threshold (observed vs\n"
    "limit). The thresholds are the run's plan's (or --plan FILE's), plus each --threshold; --only\n"
    "evaluates just its own thresholds instead, for exploration. A threshold whose metric has no data in\n"
    "the run is not a pass. The run's own verdicts, stored by its runner when it ended, never change:\n"
    "without --save nothing is written; --save keeps this evaluation apart (its thresholds, time and\n"
    "results; `gpusoak report` lists it).\n"
    "Exit codes, for what was evaluated: 0 every threshold passed, 1 one failed, 2 could not evaluate\n"
    "(unknown run, bad flag or threshold, a threshold with no data, no thresholds), 3 the run was aborted.";

bool write_file(const std::string& path, const std::string& text, std::ostream& err, std::string_view flag) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (file) file << text;
  file.close();
  if (!file) {
    err << fmt::format("gpusoak gate: --{} '{}': cannot write the file\n", flag, path);
    return false;
  }
  return true;
}

}  // namespace

namespace {

// The daemon evaluates; this prints its table and writes its JUnit/JSON. Exit code from its JSON.
int gate_on_daemon(const cli_args& parsed, const std::string& run_id, std::ostream& out, std::ostream& err) {
  auto url = parse_daemon_url(*parsed.value("daemon"));
  if (!url) {
    err << "gpusoak gate: " << url.error().message << "\n";
    return exit_could_not_run;
  }
  auto fetch = [&](std::string_view format) -> std::optional<std::string> {
    auto reply = http_call(*url, "GET", fmt::format("/api/v1/runs/{}/gate?format={}", run_id, format));
    if (!reply) {
      err << "gpusoak gate: " << reply.error().message << "\n";
      return std::nullopt;
    }
    if (reply->status != 200) {
      const auto j = nlohmann::json::parse(reply->body, nullptr, false);
      err << fmt::format("gpusoak gate: {} ({})\n",
                         j.is_object() && j.contains("error") ? j["error"].get<std::string>() : reply->body,
                         reply->status);
      return std::nullopt;
    }
    return std::move(reply->body);
  };
  const auto json_text = fetch("json");
  if (!json_text) return exit_could_not_run;
  const auto report = nlohmann::json::parse(*json_text, nullptr, false);
  if (!report.is_object() || !report.contains("exit_code") || !report["exit_code"].is_number_integer()) {
    err << "gpusoak gate: the daemon's gate report has no exit_code\n";
    return exit_could_not_run;
  }
  const auto table = fetch("table");
  if (!table) return exit_could_not_run;
  out << *table;
  if (auto path = parsed.value("junit")) {
    const auto junit = fetch("junit");
    if (!junit || !write_file(*path, *junit, err, "junit")) return exit_could_not_run;
  }
  if (auto path = parsed.value("json"); path && !write_file(*path, *json_text, err, "json")) {
    return exit_could_not_run;
  }
  return report["exit_code"].get<int>();
}

}  // namespace

int gate_command(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  std::vector<flag_spec> specs{
      {"db", "FILE", "the run store (SQLite file) holding the run (or --daemon URL)"},
      {"daemon", "URL", "ask gpusoakd instead: its run store and the run's plan thresholds"},
      {"plan", "FILE", "take the thresholds from this plan file instead of the run's plan"},
      {"threshold", "EXPR", "add a threshold to the plan's, e.g. 'leak_slope_bytes_per_hour < 1MiB' (repeatable)"},
      {"only", "EXPR", "evaluate only these thresholds, not the plan's (repeatable; not with --threshold/--plan)"},
      {"save", "", "store this evaluation in the run store, apart from the run's own verdicts"},
      {"junit", "FILE", "also write JUnit XML (one testcase per threshold)"},
      {"json", "FILE", "also write the report as JSON"},
      {"warmup", "FRACTION", "share of the run ignored by leak slopes, in [0, 1); default 0.1"},
  };
  auto parsed = parse_command_line(
      {.usage = "gate RUN_ID", .summary = summary, .flags = specs, .required_positional = 1, .max_positional = 1}, args,
      out, err);
  if (!parsed) return parsed.error();
  const std::string run_id = parsed->positional().front();
  if (parsed->has("daemon")) {
    for (const char* local : {"db", "plan", "threshold", "only", "warmup", "save"}) {
      if (parsed->has(local)) {
        err << fmt::format("gpusoak gate: --{} cannot be combined with --daemon (the daemon gates on the run's plan)\n",
                           local);
        return exit_could_not_run;
      }
    }
    return gate_on_daemon(*parsed, run_id, out, err);
  }
  const auto db = parsed->value("db");
  if (!db || db->empty()) {
    err << "gpusoak gate: --db FILE or --daemon URL is required (where the run is stored)\n";
    return exit_could_not_run;
  }

  gate_options options;
  if (auto text = parsed->value("warmup")) {
    char* end = nullptr;
    const double fraction = std::strtod(text->c_str(), &end);
    if (text->empty() || end != text->c_str() + text->size() || !(fraction >= 0 && fraction < 1)) {
      err << fmt::format("gpusoak gate: --warmup '{}' is not a fraction in [0, 1) (e.g. 0.1)\n", *text);
      return exit_could_not_run;
    }
    options.warmup_fraction = fraction;
  }

  const bool only = parsed->has("only");
  if (only && (parsed->has("threshold") || parsed->has("plan"))) {
    err << fmt::format(
        "gpusoak gate: --only replaces the plan's thresholds; it cannot be combined with --{} "
        "(use --only for each threshold, or --threshold to add to the plan's)\n",
        parsed->has("threshold") ? "threshold" : "plan");
    return exit_could_not_run;
  }
  // Checked before the store is opened: a bad flag is exit 2 whatever the run.
  std::vector<scenarios::threshold> given;
  for (const char* flag : {"threshold", "only"}) {
    for (const auto& text : parsed->values(flag)) {
      auto t = scenarios::parse_threshold(text);
      if (!t) {
        err << fmt::format("gpusoak gate: --{}: {}\n", flag, t.error().message);
        return exit_could_not_run;
      }
      given.push_back(std::move(*t));
    }
  }
  std::vector<scenarios::threshold> thresholds;
  std::string basis;
  if (only) {
    thresholds = given;
    basis = "--only";
  } else if (auto plan_path = parsed->value("plan")) {
    auto plan = scenarios::load_plan_file(*plan_path);
    if (!plan) {
      err << "gpusoak gate: --plan: " << plan.error().message << "\n";
      return exit_could_not_run;
    }
    thresholds = plan->thresholds;
    basis = fmt::format("--plan {}", *plan_path);
  }

  std::error_code ec;
  if (!std::filesystem::is_regular_file(*db, ec)) {
    err << fmt::format("gpusoak gate: --db '{}': no such run store file\n", *db);
    return exit_could_not_run;
  }
  auto store = run_store::open(*db);
  if (!store) {
    err << fmt::format("gpusoak gate: --db: {}\n", store.error().message);
    return exit_could_not_run;
  }
  auto run = store->get_run(run_id);
  if (!run) {
    err << "gpusoak gate: " << run.error().message << "\n";
    return exit_could_not_run;
  }
  if (!only && !parsed->has("plan")) {
    auto plan = scenarios::parse_plan(run->plan_text, fmt::format("run {} plan", run_id));
    if (!plan) {
      err << "gpusoak gate: the run's stored plan: " << plan.error().message << "\n";
      return exit_could_not_run;
    }
    thresholds = plan->thresholds;
    basis = "plan";
  }
  if (!only) {
    // Added thresholds the plan already has are evaluated once.
    std::size_t added = 0;
    for (auto& t : given) {
      const auto text = scenarios::to_string(t);
      if (std::ranges::any_of(thresholds, [&](const auto& have) { return scenarios::to_string(have) == text; }))
        continue;
      thresholds.push_back(std::move(t));
      ++added;
    }
    if (added > 0) basis += fmt::format(" + {} --threshold", added);
  }
  if (thresholds.empty()) {
    err << "gpusoak gate: no thresholds to evaluate (give --threshold or --only, or --plan with thresholds)\n";
    return exit_could_not_run;
  }

  auto report = run_gate(*store, run_id, thresholds, options);
  if (!report) {
    err << "gpusoak gate: " << report.error().message << "\n";
    return exit_could_not_run;
  }
  if (basis != "plan") report->basis = basis;
  out << format_gate_table(*report);
  if (parsed->has("save")) {
    auto saved = store->save_evaluation(run_id, to_stored_evaluation(*report, options));
    if (!saved) {
      err << "gpusoak gate: --save: " << saved.error().message << "\n";
      return exit_could_not_run;
    }
    out << fmt::format("saved as evaluation {} of run {}; the run's own verdicts are unchanged\n", *saved, run_id);
  }
  if (auto path = parsed->value("junit"); path && !write_file(*path, gate_junit_xml(*report), err, "junit")) {
    return exit_could_not_run;
  }
  if (auto path = parsed->value("json"); path && !write_file(*path, gate_json(*report), err, "json")) {
    return exit_could_not_run;
  }
  if (report->exit_code() == exit_could_not_run) {
    err << "gpusoak gate: could not evaluate every threshold (no data, or not enough data); see the '?' rows\n";
  }
  return report->exit_code();
}

}  // namespace gpusoak::harness
