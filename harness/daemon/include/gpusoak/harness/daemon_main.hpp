// gpusoakd's entry point: flags, the run store, the HTTP API and the GPU workers, until SIGTERM.
#pragma once

#include <iosfwd>
#include <span>
#include <string>

namespace gpusoak::harness {

// gpusoakd [--listen ADDR:PORT] [--state-dir DIR] [--token-file FILE] [--plans-dir DIR]; returns the
// process exit code (exit_codes.hpp).
int daemon_main(std::span<const std::string> args, std::ostream& out, std::ostream& err);

}  // namespace gpusoak::harness
