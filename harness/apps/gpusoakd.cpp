// gpusoakd: thin; the daemon library (harness/daemon) does the work.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <string>
#include <vector>

#include "gpusoak/harness/daemon_main.hpp"
#include "gpusoak/harness/exit_codes.hpp"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  spdlog::set_default_logger(spdlog::stderr_color_mt("gpusoakd"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  spdlog::flush_on(spdlog::level::info);
  try {
    return gpusoak::harness::daemon_main(args, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "gpusoakd: " << e.what() << "\n";
    return gpusoak::harness::exit_could_not_run;
  }
}
