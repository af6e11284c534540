// `gpusoak ARGS` run in the test's process through run_cli, as main() runs it, with what it
// prints captured: for tests of a command's output and exit code without a child process.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "gpusoak/harness/commands.hpp"

namespace gpusoak::test {

// The exit code; stdout and stderr go to *out_text and *err_text where given.
inline int cli(const std::vector<std::string>& args, std::string* out_text = nullptr, std::string* err_text = nullptr) {
  std::ostringstream out, err;
  const int code = harness::run_cli(args, out, err);
  if (out_text) *out_text = out.str();
  if (err_text) *err_text = err.str();
  return code;
}

}  // namespace gpusoak::test
