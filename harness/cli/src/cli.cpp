#include <fmt/format.h>

#include <array>
#include <ostream>

#include "gpusoak/harness/commands.hpp"

namespace gpusoak::harness {
namespace {

// The command table: `gpusoak NAME ...` runs `run` with the arguments after NAME; the overview
// lists the summaries in this order. Each command parses its own flags (parse_command_line).
struct command {
  std::string_view name;
  std::string_view summary;
  int (*run)(std::span<const std::string> args, std::ostream& out, std::ostream& err);
};

constexpr std::array commands{
    command{"probe", "capabilities, the decision matrix, and the strategy chosen per usage", probe_command},
    command{"devices", "list EGL devices", devices_command},
    command{"bench",
            "benchmarks: bench upload (upload paths per strategy), bench conv2d (kernels, zero-copy vs staging)",
            bench_command},
    command{"run", "run a soak plan on gpusoakd (--daemon URL) or in this process, end with the verdict", run_command},
    command{"status", "a run's progress and figures on gpusoakd (or its recent runs)", status_command},
    command{"stop", "stop a run on gpusoakd after its current step", stop_command},
    command{"fleet", "run a plan on every gpusoakd of a Prometheus targets file, gate the whole fleet", fleet_command},
    command{"soak", "run a soak plan in this process, store its samples and gate it (soak smoke)", soak_command},
    command{"gate", "evaluate a stored run's thresholds (table, --junit, --json), from --db or --daemon", gate_command},
    command{"report",
            "a stored run's summary (text, --json) or an HTML page with charts (--html), from --db or --daemon",
            report_command},
};

std::string overview() {
  std::string text =
      "gpusoak: zero-copy GPU buffer layer and soak harness\n\n"
      "Usage: gpusoak <command> [flags]   (gpusoak <command> --help for its flags)\n\n"
      "Commands:\n";
  for (const auto& c : commands) text += fmt::format("  {:<10} {}\n", c.name, c.summary);
  text += "\nExit codes: 0 pass, 1 fail, 2 could not run (bad flags, no GPU, no data), 3 aborted.\n";
  return text;
}

}  // namespace

int run_cli(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    err << overview();
    return exit_could_not_run;
  }
  const std::string& name = args[0];
  if (name == "--help" || name == "-h" || name == "help") {
    out << overview();
    return exit_pass;
  }
  for (const auto& c : commands) {
    if (c.name == name) return c.run(args.subspan(1), out, err);
  }
  err << "gpusoak: unknown command '" << name << "'\n\n" << overview();
  return exit_could_not_run;
}

}  // namespace gpusoak::harness
