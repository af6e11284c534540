// `gpusoak soak PLAN`: a soak plan run locally on one GPU, sampled into a run store, gated at the
// end; the exit code is the verdict.
#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

#include "gpusoak/harness/cli_args.hpp"
#include "gpusoak/harness/commands.hpp"
#include "gpusoak/harness/context_flags.hpp"
#include "gpusoak/harness/gate.hpp"
#include "gpusoak/harness/plans_dir.hpp"
#include "gpusoak/harness/run_store.hpp"
#include "gpusoak/harness/soak_runner.hpp"
#include "gpusoak/scenarios/plan.hpp"

namespace gpusoak::harness {
namespace {

constexpr const char* summary =
    "Runs a soak plan on one GPU: its phases in order, each phase's scenarios sharing the time by\n"
    "weight, a sample per scenario every sample_interval into the run store (--db), then the plan's\n"
    "thresholds gated on those samples (the table `gpusoak gate` prints). PLAN is a plan name: NAME.yaml\n"
    "in the user's plans folder (--plans-dir, else $GPUSOAK_PLANS_DIR), else in the shipped plans at\n"
    "../share/gpusoak/plans from the program's folder; --plan-file FILE runs a plan file instead.\n"
    "Exit codes: 0 every threshold passed, 1 one failed, 2 could not run (bad flag or plan, no GPU,\n"
    "no data for a threshold).";

std::optional<std::string> read_text(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return std::nullopt;
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// Prints a plan error: one problem after the prefix, or a count and each problem on a line of its
// own, so a plan with several mistakes shows them all in one go.
void print_problems(std::ostream& err, std::string_view prefix, std::string_view message) {
  const auto problems = scenarios::problem_lines(message);
  if (problems.size() <= 1) {
    err << "gpusoak soak: " << prefix << message << "\n";
    return;
  }
  err << fmt::format("gpusoak soak: {}{} problems:\n", prefix, problems.size());
  for (const auto& p : problems) err << "  " << p << "\n";
}

}  // namespace

int soak_command(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  std::vector<flag_spec> specs{
      {"plans-dir", "DIR",
       "your plans: names are looked up here first, then in the shipped plans (default: $GPUSOAK_PLANS_DIR)"},
      {"plan-file", "FILE", "run this plan file instead of a named plan"},
      {"time-scale", "X", "multiply every phase duration by X > 0 (0.05: the smoke plan in 6 s)"},
      {"db", "FILE", "the run store (SQLite file; default gpusoak-runs.db in the current directory)"},
      {"junit", "FILE", "also write the gate's JUnit XML"},
      {"seed", "N", "run seed; scenario seeds derive from it (default 1)"},
  };
  const auto context_specs = context_flag_specs();
  specs.insert(specs.end(), context_specs.begin(), context_specs.end());
  auto parsed = parse_command_line({.usage = "soak PLAN", .summary = summary, .flags = specs, .max_positional = 1},
                                   args, out, err);
  if (!parsed) return parsed.error();

  double time_scale = 1.0;
  if (auto text = parsed->value("time-scale")) {
    char* end = nullptr;
    time_scale = std::strtod(text->c_str(), &end);
    if (text->empty() || end != text->c_str() + text->size() || !std::isfinite(time_scale) || !(time_scale > 0)) {
      err << fmt::format("gpusoak soak: --time-scale '{}' is not a number > 0 (e.g. 0.25)\n", *text);
      return exit_could_not_run;
    }
  }
  std::uint64_t seed = 1;
  if (auto text = parsed->value("seed")) {
    char* end = nullptr;
    errno = 0;
    seed = std::strtoull(text->c_str(), &end, 10);
    if (text->empty() || (*text)[0] == '-' || end != text->c_str() + text->size() || errno != 0) {
      err << fmt::format("gpusoak soak: --seed '{}' is not a non-negative integer\n", *text);
      return exit_could_not_run;
    }
  }
  auto context = context_options_from(*parsed);
  if (!context) {
    err << "gpusoak soak: " << context.error().message << "\n";
    return exit_could_not_run;
  }
  context->name = "soak";

  // The plan: a name in the plans directory, or a file.
  result<scenarios::plan> plan = make_error(error_kind::validation, "no plan");
  std::string plan_text;
  if (auto file = parsed->value("plan-file")) {
    if (!parsed->positional().empty()) {
      err << "gpusoak soak: give a plan name or --plan-file FILE, not both\n";
      return exit_could_not_run;
    }
    plan = scenarios::load_plan_file(*file);
    if (!plan) {
      print_problems(err, "--plan-file: ", plan.error().message);
      return exit_could_not_run;
    }
    plan_text = read_text(*file).value_or("");
  } else {
    if (parsed->positional().empty()) {
      err << "gpusoak soak: missing PLAN (gpusoak soak PLAN, e.g. smoke; or --plan-file FILE)\n";
      return exit_could_not_run;
    }
    const std::string& name = parsed->positional().front();
    const auto dirs = detail::plans_dirs(parsed->value("plans-dir"));
    if (!dirs) {
      err << "gpusoak soak: " << dirs.error().message << "\n";
      return exit_could_not_run;
    }
    const auto found = scenarios::find_named_plan(*dirs, name);
    if (found) plan = scenarios::load_plan_file(*found);
    if (!found || !plan) {
      print_problems(err, fmt::format("plan '{}': ", name), (found ? plan.error() : found.error()).message);
      return exit_could_not_run;
    }
    plan_text = read_text(*found).value_or("");
  }
  // The bounds of a run (a plan of at most 100000 h, enough samples per phase to gate, devices
  // that exist), checked before the run store is touched: the daemon checks the same.
  auto scaled = scenarios::scale_for_run(*plan, time_scale);
  if (!scaled) {
    print_problems(err, "--time-scale: ", scaled.error().message);
    return exit_could_not_run;
  }
  if (auto present = openable_devices(*context); !present) {
    err << "gpusoak soak: listing EGL devices: " << present.error().message << "\n";
    return exit_could_not_run;
  } else if (parsed->has("device")) {
    if (static_cast<std::size_t>(context->device_index) >= *present) {
      err << fmt::format(
          "gpusoak soak: --device {}: EGL device {} is not present; {} here ({}); gpusoak devices "
          "lists them\n",
          context->device_index, context->device_index,
          *present == 1 ? std::string("1 EGL device is") : fmt::format("{} EGL devices are", *present),
          *present == 1 ? std::string("index 0") : fmt::format("index 0 to {}", *present - 1));
      return exit_could_not_run;
    }
  } else if (auto devices = scenarios::check_plan_devices(*scaled, *present); !devices) {
    print_problems(err, "", devices.error().message);
    return exit_could_not_run;
  }

  const std::string db = parsed->value("db").value_or("gpusoak-runs.db");
  auto store = run_store::open(db);
  if (!store) {
    err << fmt::format("gpusoak soak: --db: {}\n", store.error().message);
    return exit_could_not_run;
  }

  out << fmt::format("gpusoak soak: plan {} ({} phases, {:.1f} s at time scale {}), seed {}, run store {}\n",
                     scaled->name, scaled->phases.size(),
                     std::chrono::duration<double>(scaled->total_duration()).count(), time_scale, seed, db);
  out.flush();
  soak_options options{.context = *context,
                       .device_from_cli = parsed->has("device"),
                       .seed = seed,
                       .time_scale = time_scale,
                       .progress = &out,
                       .max_failure_events = 20};
  auto outcome = run_soak(*scaled, plan_text, *store, options);
  if (!outcome) {
    err << "gpusoak soak: run store: " << outcome.error().message << "\n";
    return exit_could_not_run;
  }
  if (outcome->report) out << format_gate_table(*outcome->report);
  out << fmt::format("run {}: {} ({})\n", outcome->run_id, to_string(outcome->state), outcome->reason);
  if (outcome->state == run_state::could_not_run) err << "gpusoak soak: could not run: " << outcome->reason << "\n";
  if (auto path = parsed->value("junit"); path && outcome->report) {
    std::ofstream file(*path, std::ios::binary | std::ios::trunc);
    if (file) file << gate_junit_xml(*outcome->report);
    file.close();
    if (!file) {
      err << fmt::format("gpusoak soak: --junit '{}': cannot write the file\n", *path);
      return exit_could_not_run;
    }
  }
  return outcome->exit_code;
}

}  // namespace gpusoak::harness
