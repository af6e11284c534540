// A small synchronous HTTP/1.1 client (Boost.Beast) for the CLI's talks with gpusoakd.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "gpusoak/buffers/error.hpp"

namespace gpusoak::harness {

struct daemon_url {
  std::string host;
  std::string port = "9464";
  [[nodiscard]] std::string text() const { return "http://" + host + ":" + port; }
};

// "http://HOST[:PORT]" (a trailing '/' allowed); errors (validation) say what is expected.
[[nodiscard]] gpu::result<daemon_url> parse_daemon_url(std::string_view url);

struct http_reply {
  int status = 0;
  std::string body;
};

// One request on a fresh connection. Connection failures and timeouts are `unsupported` errors
// naming the daemon ("is gpusoakd running?"); any HTTP status is a reply.
[[nodiscard]] gpu::result<http_reply> http_call(const daemon_url& url, std::string_view method, std::string_view target,
                                                std::string_view body = {},
                                                const std::optional<std::string>& token = std::nullopt,
                                                std::chrono::seconds timeout = std::chrono::seconds(30));

}  // namespace gpusoak::harness
