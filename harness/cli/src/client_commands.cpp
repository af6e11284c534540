// `gpusoak run`, `status` and `stop`: the CLI side of gpusoakd's API. `run` without --daemon runs
// the plan in this process (`gpusoak soak`).
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <thread>

#include "gpusoak/harness/cli_args.hpp"
#include "gpusoak/harness/commands.hpp"
#include "gpusoak/harness/context_flags.hpp"
#include "gpusoak/harness/daemon_flags.hpp"
#include "gpusoak/harness/gate.hpp"
#include "gpusoak/harness/http_client.hpp"
#include "gpusoak/harness/run_client.hpp"

namespace gpusoak::harness {
namespace {

using detail::error_text;
using detail::exit_for_state;
using detail::get_json;
using detail::is_final;
using detail::names_a_file;
using detail::progress_line;
using nlohmann::json;

// Follows runs until each is final; prints a progress line when something moved. Returns the
// final states by run id.
result<std::map<std::string, std::string>> follow(const daemon_target& d, const std::vector<std::string>& ids,
                                                  std::chrono::milliseconds poll, std::ostream& out) {
  std::map<std::string, std::string> last_line, final_state;
  while (final_state.size() < ids.size()) {
    for (const auto& id : ids) {
      if (final_state.contains(id)) continue;
      GPUSOAK_TRY_ASSIGN(auto run, get_json(d.url, "/api/v1/runs/" + id));
      const std::string line = progress_line(run);
      if (line != last_line[id]) {
        out << line << "\n";
        out.flush();
        last_line[id] = line;
      }
      const std::string state = run.value("state", "");
      if (is_final(state)) final_state[id] = state;
    }
    if (final_state.size() < ids.size()) std::this_thread::sleep_for(poll);
  }
  return final_state;
}

// Whether a gpusoakd answers /healthz on the default address (a refused connection answers at
// once; a listener that is not gpusoakd fails the JSON check).
bool default_daemon_answers() {
  auto url = parse_daemon_url("http://127.0.0.1:9464");
  if (!url) return false;
  auto reply = http_call(*url, "GET", "/healthz", {}, std::nullopt, std::chrono::seconds(2));
  if (!reply || reply->status != 200) return false;
  const auto body = json::parse(reply->body, nullptr, /*allow_exceptions=*/false);
  return body.is_object() && body.contains("active_runs");
}

int run_in_process(const cli_args& parsed, std::ostream& out, std::ostream& err) {
  std::vector<std::string> args;
  const std::string plan = *parsed.value("plan");
  if (names_a_file(plan)) {
    args = {"--plan-file", plan};
  } else {
    args = {plan};
  }
  for (const char* flag :
       {"time-scale", "db", "junit", "seed", "plans-dir", "device", "backend", "disable", "budget"}) {
    if (auto v = parsed.value(flag)) {
      args.push_back(fmt::format("--{}", flag));
      args.push_back(*v);
    }
  }
  return soak_command(args, out, err);
}

}  // namespace

int run_command(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  std::vector<flag_spec> specs{
      {"plan", "NAME|FILE", "the soak plan: a shipped plan name (smoke, nightly, release) or a YAML file"},
      {"time-scale", "X", "multiply every phase duration by X > 0 (0.25: the smoke plan in 30 s)"},
      {"detach", "", "with a daemon: print the run id(s) and return at once"},
      {"junit", "FILE", "write the gate's JUnit XML (one run: FILE; several GPUs: FILE per run, id appended)"},
      {"poll", "SECONDS", "with a daemon: how often to ask for progress (default 1)"},
      {"db", "FILE", "without a daemon: the run store (default gpusoak-runs.db)"},
      {"seed", "N", "without a daemon: run seed (a daemon derives seeds from the run id)"},
      {"plans-dir", "DIR", "without a daemon: where plan names are looked up"},
      {"in-process", "", "run here even when a gpusoakd answers on the default address"},
  };
  for (auto& spec : daemon_flag_specs()) specs.push_back(std::move(spec));
  for (auto& spec : context_flag_specs()) specs.push_back(std::move(spec));
  auto parsed = parse_command_line(
      {.usage = "run --plan NAME|FILE",
       .summary = "Runs a soak plan and ends with the gate's verdict. With --daemon URL (or $GPUSOAK_DAEMON) the run\n"
                  "starts on that gpusoakd (one run per GPU the plan names) and this command follows it with a\n"
                  "progress line, then prints the gate table; --detach prints the run id(s) and returns. Without\n"
                  "either, a gpusoakd answering on http://127.0.0.1:9464 runs it; with none there, with --in-process\n"
                  "or with a flag that only applies here (--db, --seed, --plans-dir, --device, --backend, --disable,\n"
                  "--budget) the plan runs in this process (like `gpusoak soak`).\n"
                  "Exit codes: 0 passed, 1 failed, 2 could not run, 3 aborted (stopped).",
       .flags = specs},
      args, out, err);
  if (!parsed) return parsed.error();
  if (!parsed->value("plan")) {
    err << "gpusoak run: missing --plan NAME|FILE (e.g. --plan smoke)\n";
    return exit_could_not_run;
  }
  constexpr std::array<const char*, 7> local_flags{"db", "seed", "plans-dir", "device", "backend", "disable", "budget"};
  const bool daemon_named = parsed->has("daemon") || std::getenv("GPUSOAK_DAEMON") != nullptr;
  if (daemon_named && parsed->has("in-process")) {
    err << "gpusoak run: --in-process and a daemon (--daemon or $GPUSOAK_DAEMON) exclude each other; drop one\n";
    return exit_could_not_run;
  }
  const bool local_only = parsed->has("in-process") ||
                          std::ranges::any_of(local_flags, [&](const char* flag) { return parsed->has(flag); });
  const bool use_daemon = daemon_named || (!local_only && default_daemon_answers());
  if (use_daemon && !daemon_named) {
    err << "gpusoak run: using the gpusoakd at http://127.0.0.1:9464 (--in-process runs the plan here)\n";
  }
  if (!use_daemon) {
    if (parsed->has("detach")) {
      err << "gpusoak run: --detach needs a daemon (--daemon URL or $GPUSOAK_DAEMON)\n";
      return exit_could_not_run;
    }
    return run_in_process(*parsed, out, err);
  }
  for (const char* local : local_flags) {
    if (parsed->has(local)) {
      err << fmt::format("gpusoak run: --{} applies to a run without a daemon; the daemon has its own settings\n",
                         local);
      return exit_could_not_run;
    }
  }
  auto daemon = daemon_target_from(*parsed);
  if (!daemon) {
    err << "gpusoak run: " << daemon.error().message << "\n";
    return exit_could_not_run;
  }
  auto poll = detail::parse_seconds("poll", parsed->value("poll"), 1.0);
  if (!poll) {
    err << "gpusoak run: " << poll.error().message << "\n";
    return exit_could_not_run;
  }
  auto body = detail::start_request_body(*parsed->value("plan"), parsed->value("time-scale"));
  if (!body) {
    err << "gpusoak run: " << body.error().message << "\n";
    return exit_could_not_run;
  }
  auto started = detail::start_runs(daemon->url, *body, daemon->token);
  if (!started) {
    err << "gpusoak run: " << started.error().message << "\n";
    return exit_could_not_run;
  }
  std::vector<std::string> ids;
  for (const auto& run : *started) ids.push_back(run.id);
  if (parsed->has("detach")) {
    for (const auto& id : ids) out << id << "\n";
    return exit_pass;
  }
  for (const auto& run : *started) {
    out << fmt::format("run {} started on GPU {} at {}\n", run.id, run.gpu, daemon->url.text());
  }
  out.flush();
  auto states = follow(*daemon, ids, *poll, out);
  if (!states) {
    err << "gpusoak run: " << states.error().message << "\n";
    return exit_could_not_run;
  }
  int worst = exit_pass;
  for (const auto& id : ids) {
    if (auto table = http_call(daemon->url, "GET", fmt::format("/api/v1/runs/{}/gate?format=table", id));
        table && table->status == 200) {
      out << table->body;
    }
    if (auto path = parsed->value("junit")) {
      const std::string file = ids.size() == 1 ? *path : fmt::format("{}.{}.xml", *path, id);
      auto junit = http_call(daemon->url, "GET", fmt::format("/api/v1/runs/{}/gate?format=junit", id));
      std::ofstream stream(file, std::ios::binary | std::ios::trunc);
      if (!junit || junit->status != 200 || !(stream << junit->body)) {
        err << fmt::format("gpusoak run: --junit '{}': could not fetch or write the gate's JUnit XML\n", file);
        worst = std::max(worst, exit_could_not_run);
      }
    }
    const std::string& state = (*states)[id];
    out << fmt::format("run {}: {}\n", id, state);
    const int code = exit_for_state(state);
    // fail (1) outranks could-not-run (2) and aborted (3): a failed GPU fails the whole run.
    if (code == exit_fail || (worst != exit_fail && code > worst)) worst = code;
  }
  return worst;
}

int status_command(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  std::vector<flag_spec> specs = daemon_flag_specs();
  specs.push_back({"json", "", "print the daemon's JSON as is"});
  auto parsed = parse_command_line(
      {.usage = "status [RUN_ID]",
       .summary = "A run's state, phase, progress, latest figures per scenario and verdicts, from gpusoakd;\n"
                  "without RUN_ID, the daemon's recent runs.",
       .flags = specs,
       .max_positional = 1},
      args, out, err);
  if (!parsed) return parsed.error();
  auto daemon = daemon_target_from(*parsed);
  if (!daemon) {
    err << "gpusoak status: " << daemon.error().message << "\n";
    return exit_could_not_run;
  }
  const bool one = !parsed->positional().empty();
  auto j = get_json(daemon->url, one ? "/api/v1/runs/" + parsed->positional().front() : "/api/v1/runs?limit=20");
  if (!j) {
    err << "gpusoak status: " << j.error().message << "\n";
    return exit_could_not_run;
  }
  if (parsed->has("json")) {
    out << j->dump(2) << "\n";
    return exit_pass;
  }
  if (!one) {
    if ((*j)["runs"].empty()) {
      out << fmt::format("no runs on {} yet; start one with: gpusoak run --daemon {} --plan smoke\n",
                         daemon->url.text(), daemon->url.text());
    }
    for (const auto& run : (*j)["runs"]) out << progress_line(run) << "\n";
    return exit_pass;
  }
  out << progress_line(*j) << "\n";
  out << fmt::format("plan {} on {}, created {}, verdict: {}\n", j->value("plan", ""), j->value("device", ""),
                     j->value("created_at", ""), j->value("verdict_reason", "(none yet)"));
  if (j->contains("scenarios")) {
    for (const auto& [name, s] : (*j)["scenarios"].items()) {
      out << fmt::format("  {:<16} t {:>8.1f}s  live {} buffers / {} B  iterations {}  p99 {:.3g}s  errors {}\n", name,
                         s.value("t_seconds", 0.0), s.value("live_buffers", 0), s.value("live_bytes", 0),
                         s["counters"].value("scenario_iterations_total", 0), s.value("latency_p99_seconds", 0.0),
                         s.value("errors_total", 0));
    }
  }
  if (j->contains("recent_events")) {
    for (const auto& e : (*j)["recent_events"]) {
      out << fmt::format("  [{:>8.1f}s {}] {} {}\n", e.value("t_seconds", 0.0), e.value("level", ""),
                         e.value("scenario", ""), e.value("message", ""));
    }
  }
  return exit_pass;
}

int stop_command(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  const auto specs = daemon_flag_specs();
  auto parsed = parse_command_line(
      {.usage = "stop RUN_ID",
       .summary = "Asks gpusoakd to stop a running run after its current step; the run ends aborted with\n"
                  "what it stored so far.",
       .flags = specs,
       .required_positional = 1,
       .max_positional = 1},
      args, out, err);
  if (!parsed) return parsed.error();
  auto daemon = daemon_target_from(*parsed);
  if (!daemon) {
    err << "gpusoak stop: " << daemon.error().message << "\n";
    return exit_could_not_run;
  }
  const std::string& id = parsed->positional().front();
  auto reply = http_call(daemon->url, "POST", fmt::format("/api/v1/runs/{}/stop", id), "", daemon->token);
  if (!reply) {
    err << "gpusoak stop: " << reply.error().message << "\n";
    return exit_could_not_run;
  }
  if (reply->status != 202) {
    err << fmt::format("gpusoak stop: {} ({})\n", error_text(*reply), reply->status);
    return exit_could_not_run;
  }
  out << fmt::format("run {}: stopping after its current step\n", id);
  return exit_pass;
}

}  // namespace gpusoak::harness
