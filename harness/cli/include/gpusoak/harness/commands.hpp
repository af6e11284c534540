// The gpusoak CLI's subcommands. Each takes its arguments (after the subcommand name) and
// returns the process exit code (exit_codes.hpp).
#pragma once

#include <iosfwd>
#include <span>
#include <string>

#include "gpusoak/harness/exit_codes.hpp"

namespace gpusoak::harness {

int run_cli(std::span<const std::string> args, std::ostream& out, std::ostream& err);

int probe_command(std::span<const std::string> args, std::ostream& out, std::ostream& err);
int devices_command(std::span<const std::string> args, std::ostream& out, std::ostream& err);
int bench_command(std::span<const std::string> args, std::ostream& out, std::ostream& err);
// gpusoak gate RUN_ID --db FILE [--plan FILE] [--threshold EXPR ...] [--junit FILE] [--json FILE]
int gate_command(std::span<const std::string> args, std::ostream& out, std::ostream& err);
// gpusoak report RUN_ID --db FILE [--json] [--html FILE]
int report_command(std::span<const std::string> args, std::ostream& out, std::ostream& err);
// gpusoak soak PLAN [--plans-dir DIR] [--plan-file FILE] [--time-scale X] [--db FILE] [--junit FILE] [--seed N]
int soak_command(std::span<const std::string> args, std::ostream& out, std::ostream& err);
// gpusoak run --plan NAME|FILE [--daemon URL] [--time-scale X] [--detach] [--junit FILE]
int run_command(std::span<const std::string> args, std::ostream& out, std::ostream& err);
// gpusoak status [RUN_ID] [--daemon URL] [--json]
int status_command(std::span<const std::string> args, std::ostream& out, std::ostream& err);
// gpusoak fleet --targets FILE --plan NAME|FILE [--time-scale X] [--token-file FILE] [--junit FILE]
//               [--json FILE] [--prometheus URL --promql EXPR ...] [--poll SECONDS] [--detach]
int fleet_command(std::span<const std::string> args, std::ostream& out, std::ostream& err);
// gpusoak stop RUN_ID [--daemon URL] [--token-file FILE]
int stop_command(std::span<const std::string> args, std::ostream& out, std::ostream& err);

}  // namespace gpusoak::harness
