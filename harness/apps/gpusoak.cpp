// The gpusoak CLI: thin; the cli library (harness/cli) holds the commands.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <string>
#include <vector>

#include "gpusoak/harness/commands.hpp"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  // Logs to stderr: stdout carries tables and JSON that scripts parse.
  spdlog::set_default_logger(spdlog::stderr_color_mt("gpusoak"));
  try {
    return gpusoak::harness::run_cli(args, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "gpusoak: " << e.what() << "\n";
    return gpusoak::harness::exit_could_not_run;
  }
}
