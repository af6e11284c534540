#include <ostream>

#include "gpusoak/harness/commands.hpp"

namespace gpusoak::harness {
namespace {

constexpr const char* overview =
    "gpusoak: zero-copy GPU buffer layer and soak harness\n\n"
    "Usage: gpusoak <command> [flags]   (gpusoak <command> --help for its flags)\n\n"
    "Commands:\n"
    "  probe      capabilities, the decision matrix, and the strategy chosen per usage\n"
    "  devices    list EGL devices\n"
    "  bench      benchmarks: bench upload (upload paths per strategy), bench conv2d (kernels, zero-copy vs staging)\n"
    "  run        run a soak plan on gpusoakd (--daemon URL) or in this process, end with the verdict\n"
    "  status     a run's progress and figures on gpusoakd (or its recent runs)\n"
    "  stop       stop a run on gpusoakd after its current step\n"
    "  fleet      run a plan on every gpusoakd of a Prometheus targets file, gate the whole fleet\n"
    "  soak       run a soak plan in this process, store its samples and gate it (soak smoke)\n"
    "  gate       evaluate a stored run's thresholds (table, --junit, --json), from --db or --daemon\n"
    "  report     a stored run's summary (text, --json) or an HTML page with charts (--html), from --db or --daemon\n\n"
    "Exit codes: 0 pass, 1 fail, 2 could not run (bad flags, no GPU, no data), 3 aborted.\n";

}  // namespace

int run_cli(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    err << overview;
    return exit_could_not_run;
  }
  const std::string& command = args[0];
  const auto rest = args.subspan(1);
  if (command == "--help" || command == "-h" || command == "help") {
    out << overview;
    return exit_pass;
  }
  if (command == "probe") return probe_command(rest, out, err);
  if (command == "devices") return devices_command(rest, out, err);
  if (command == "bench") return bench_command(rest, out, err);
  if (command == "soak") return soak_command(rest, out, err);
  if (command == "gate") return gate_command(rest, out, err);
  if (command == "run") return run_command(rest, out, err);
  if (command == "status") return status_command(rest, out, err);
  if (command == "stop") return stop_command(rest, out, err);
  if (command == "fleet") return fleet_command(rest, out, err);
  if (command == "report") return report_command(rest, out, err);
  err << "gpusoak: unknown command '" << command << "'\n\n" << overview;
  return exit_could_not_run;
}

}  // namespace gpusoak::harness
