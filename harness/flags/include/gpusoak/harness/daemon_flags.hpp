// The flags every command that talks to gpusoakd shares: --daemon URL and --token-file FILE.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "gpusoak/harness/cli_args.hpp"
#include "gpusoak/harness/http_client.hpp"

namespace gpusoak::harness {

struct daemon_target {
  daemon_url url;
  std::optional<std::string> token;
};

// --daemon URL (default $GPUSOAK_DAEMON, else http://127.0.0.1:9464), --token-file FILE
// (default $GPUSOAK_TOKEN_FILE).
[[nodiscard]] std::vector<flag_spec> daemon_flag_specs();
[[nodiscard]] result<daemon_target> daemon_target_from(const cli_args& args);

// The token from --token-file FILE, else $GPUSOAK_TOKEN_FILE; none when neither is set.
[[nodiscard]] result<std::optional<std::string>> token_from(const cli_args& args);

// A bearer token file: one line of at least 16 characters without spaces. Errors name the file
// and the flag.
[[nodiscard]] result<std::string> read_token_file(const std::string& path);

}  // namespace gpusoak::harness
