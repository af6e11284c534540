// `gpusoak fleet`: one plan on every gpusoakd of a file_sd targets file, followed to the end and
// gated as a whole (every machine's verdict, plus PromQL checks on the fleet's Prometheus).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <ostream>

#include "gpusoak/harness/cli_args.hpp"
#include "gpusoak/harness/commands.hpp"
#include "gpusoak/harness/daemon_flags.hpp"
#include "gpusoak/harness/fleet_report.hpp"
#include "gpusoak/harness/fleet_runner.hpp"
#include "gpusoak/harness/fleet_targets.hpp"
#include "gpusoak/harness/promql_check.hpp"
#include "gpusoak/harness/run_client.hpp"

namespace gpusoak::harness {
namespace {

std::vector<flag_spec> fleet_flag_specs() {
  return {
      {"targets", "FILE", "Prometheus file_sd targets file (YAML or JSON) listing the gpusoakd host:port"},
      {"plan", "NAME|FILE", "the soak plan: a plan name each daemon knows (smoke, ...) or a YAML file sent to all"},
      {"time-scale", "X", "multiply every phase duration by X > 0"},
      {"token-file", "FILE", "the daemons' bearer token (default: $GPUSOAK_TOKEN_FILE)"},
      {"junit", "FILE", "write JUnit XML: one testcase per machine and run, one per PromQL check"},
      {"json", "FILE", "write the fleet's result as JSON"},
      {"prometheus", "URL", "the fleet's Prometheus for --promql, e.g. http://prometheus.lab:9090"},
      {"promql", "EXPR", "after the runs: passes when the instant query returns samples, all non-zero (repeatable)"},
      {"promql-wait", "SECONDS", "wait up to this long for Prometheus to scrape every machine's end (default 60)"},
      {"poll", "SECONDS", "how often to ask each daemon for progress (default 1)"},
      {"detach", "", "print the run ids per machine and return once the runs started"},
  };
}

constexpr const char* summary =
    "Starts one soak plan on every gpusoakd listed in a Prometheus file_sd targets file (the file the\n"
    "fleet's Prometheus scrapes), follows all runs with a line per change, then prints one row per\n"
    "machine and run (GPU) with its verdict, and the fleet's verdict. A machine that does not answer,\n"
    "or refuses the run (busy: 409), is reported and does not stop the others. With --prometheus and\n"
    "--promql, each expression is an instant query on the fleet's Prometheus after the runs ended;\n"
    "it passes when it returns at least one sample and every value is non-zero: use `== bool 0`,\n"
    "not `== 0`, to test for zero (e.g. max(gpusoak_integrity_failures_total) == bool 0).\n"
    "Exit codes: 0 every machine and check passed, 1 any failed, 3 any aborted (none failed),\n"
    "2 any could not run, was unreachable or refused, or a check could not be evaluated.";

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  return static_cast<bool>(file << text);
}

// Flags that only make sense once the runs ended are refused with --detach.
std::optional<std::string> detach_conflict(const cli_args& args) {
  for (const char* flag : {"junit", "json", "prometheus", "promql"}) {
    if (args.has(flag)) return fmt::format("--{} needs the runs' end; it cannot go with --detach", flag);
  }
  return std::nullopt;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::vector<promql_check> run_checks(const cli_args& args, const prometheus_server& server,
                                     std::span<const fleet_run_row> rows, double ended, std::chrono::seconds wait,
                                     std::ostream& out) {
  std::vector<std::string> instances;
  for (const auto& row : rows) {
    if (row.outcome != fleet_outcome::unreachable && !row.run_id.empty() &&
        std::ranges::find(instances, row.machine) == instances.end()) {
      instances.push_back(row.machine);
    }
  }
  out << fmt::format("waiting up to {} s for {} to scrape {} machine(s) after the runs' end\n", wait.count(),
                     server.text(), instances.size());
  out.flush();
  if (auto missed = wait_for_scrapes(server, instances, ended, wait); !missed) {
    out << "PromQL: " << missed.error().message << "\n";
  } else {
    for (const auto& instance : *missed) {
      out << fmt::format(
          "note: {} holds no scrape of instance \"{}\" after the runs' end; checks may see an older "
          "state\n",
          server.text(), instance);
    }
  }
  std::vector<promql_check> checks;
  for (const auto& expr : args.values("promql")) checks.push_back(judge_promql(expr, promql_query(server, expr)));
  return checks;
}

}  // namespace

int fleet_command(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  const auto specs = fleet_flag_specs();
  auto fail = [&](const std::string& message) {
    err << "gpusoak fleet: " << message << "\n";
    return exit_could_not_run;
  };
  auto parsed = parse_command_line(
      {.usage = "fleet --targets FILE --plan NAME|FILE", .summary = summary, .flags = specs}, args, out, err);
  if (!parsed) return parsed.error();
  if (!parsed->value("targets"))
    return fail("missing --targets FILE (a Prometheus file_sd list of gpusoakd host:port)");
  if (!parsed->value("plan")) return fail("missing --plan NAME|FILE (e.g. --plan smoke)");
  if (parsed->has("detach")) {
    if (auto conflict = detach_conflict(*parsed)) return fail(*conflict);
  }
  const bool has_promql = parsed->has("promql");
  if (has_promql != parsed->has("prometheus")) {
    return fail(has_promql ? "--promql needs --prometheus URL (the fleet's Prometheus)"
                           : "--prometheus needs at least one --promql EXPR");
  }
  std::optional<prometheus_server> prometheus;
  if (auto url = parsed->value("prometheus")) {
    auto server = parse_prometheus_url(*url);
    if (!server) return fail(server.error().message);
    prometheus = *server;
  }
  for (const auto& expr : parsed->values("promql")) {
    if (expr.empty()) return fail("--promql: an empty expression");
  }
  auto wait = detail::parse_seconds("promql-wait", parsed->value("promql-wait"), 60);
  if (!wait) return fail(wait.error().message);
  auto targets = load_fleet_targets(*parsed->value("targets"));
  if (!targets) return fail(targets.error().message);
  fleet_options options;
  auto body = detail::start_request_body(*parsed->value("plan"), parsed->value("time-scale"));
  if (!body) return fail(body.error().message);
  options.start_body = std::move(*body);
  auto poll = detail::parse_seconds("poll", parsed->value("poll"), 1.0);
  if (!poll) return fail(poll.error().message);
  options.poll = *poll;
  auto token = token_from(*parsed);
  if (!token) return fail(token.error().message);
  options.token = std::move(*token);

  out << fmt::format("starting plan {} on {} machine(s) from {}\n", *parsed->value("plan"), targets->size(),
                     *parsed->value("targets"));
  out.flush();
  const auto members = start_fleet(*targets, options);
  bool all_started = true;
  for (const auto& member : members) {
    for (const auto& run : member.runs) {
      out << fmt::format("{}  {}  gpu {}  started\n", member.target.address, run.id, run.gpu);
    }
    if (member.failure) {
      all_started = false;
      out << fmt::format("{}  -  {}: {}\n", member.target.address, to_string(member.failure->outcome),
                         member.failure->detail);
    }
  }
  out.flush();
  if (parsed->has("detach")) return all_started ? exit_pass : exit_could_not_run;

  fleet_report report;
  report.runs = follow_fleet(members, options, out);
  if (prometheus) {
    const auto wait_s = std::chrono::seconds(static_cast<long>(std::chrono::ceil<std::chrono::seconds>(*wait).count()));
    report.checks = run_checks(*parsed, *prometheus, report.runs, unix_now(), wait_s, out);
  }
  out << "\n" << format_fleet_table(report);
  int code = report.exit_code();
  for (const auto& [flag, text] :
       {std::pair{"junit", fleet_junit_xml(report)}, std::pair{"json", fleet_json(report)}}) {
    if (auto path = parsed->value(flag); path && !write_file(*path, text)) {
      err << fmt::format("gpusoak fleet: --{} '{}': cannot write the file\n", flag, *path);
      if (code == exit_pass) code = exit_could_not_run;
    }
  }
  return code;
}

}  // namespace gpusoak::harness
