#include "gpusoak/harness/daemon_flags.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace gpusoak::harness {

std::vector<flag_spec> daemon_flag_specs() {
  return {
      {"daemon", "URL", "gpusoakd to talk to (default: $GPUSOAK_DAEMON, else http://127.0.0.1:9464)"},
      {"token-file", "FILE", "bearer token for starting and stopping runs (default: $GPUSOAK_TOKEN_FILE)"},
  };
}

result<std::string> read_token_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return make_error(error_kind::validation,
                      fmt::format("--token-file '{}': cannot read it (does it exist and is it readable?)", path));
  }
  std::ostringstream text;
  text << file.rdbuf();
  std::string token = text.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.size() < 16 || token.find_first_of(" \t\r\n") != std::string::npos) {
    return make_error(error_kind::validation,
                      fmt::format("--token-file '{}': the token must be one line of at least 16 characters "
                                  "without spaces (e.g. from `openssl rand -hex 32`)",
                                  path));
  }
  return token;
}

result<std::optional<std::string>> token_from(const cli_args& args) {
  std::optional<std::string> path = args.value("token-file");
  if (!path) {
    if (const char* env = std::getenv("GPUSOAK_TOKEN_FILE"); env != nullptr && *env != '\0') path = env;
  }
  if (!path) return std::optional<std::string>();
  GPUSOAK_TRY_ASSIGN(auto token, read_token_file(*path));
  return std::optional<std::string>(std::move(token));
}

result<daemon_target> daemon_target_from(const cli_args& args) {
  std::string url = "http://127.0.0.1:9464";
  if (auto flag = args.value("daemon")) {
    url = *flag;
  } else if (const char* env = std::getenv("GPUSOAK_DAEMON"); env != nullptr && *env != '\0') {
    url = env;
  }
  GPUSOAK_TRY_ASSIGN(auto parsed, parse_daemon_url(url));
  daemon_target target{.url = parsed};
  GPUSOAK_TRY_ASSIGN(auto token, token_from(args));
  target.token = std::move(token);
  return target;
}

}  // namespace gpusoak::harness
