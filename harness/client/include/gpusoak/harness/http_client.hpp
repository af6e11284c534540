// A small synchronous HTTP/1.1 client (Boost.Beast) for the CLI's talks with gpusoakd.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "gpusoak/error.hpp"

namespace gpusoak::harness {

struct daemon_url {
  std::string host;
  std::string port = "9464";
  [[nodiscard]] std::string text() const { return "http://" + host + ":" + port; }
};

// "http://HOST[:PORT]" (a trailing '/' allowed); errors (validation) say what is expected.
[[nodiscard]] result<daemon_url> parse_daemon_url(std::string_view url);

struct http_reply {
  int status = 0;
  std::string body;
};

// One request on a fresh connection. Connection failures and timeouts are `io` errors naming the
// daemon ("is gpusoakd running?"); any HTTP status is a reply.
[[nodiscard]] result<http_reply> http_call(const daemon_url& url, std::string_view method, std::string_view target,
                                           std::string_view body = {},
                                           const std::optional<std::string>& token = std::nullopt,
                                           std::chrono::seconds timeout = std::chrono::seconds(30));

// The kind of error a daemon's non-2xx answer reports (the inverse of http_api's http_status):
// 400 validation, 404 not_found, 409 conflict, 422 unsupported, 503 unavailable, 507
// out_of_space, anything else internal. Never io: io is kept for a daemon that did not answer.
[[nodiscard]] error_kind error_kind_of_status(int status) noexcept;

}  // namespace gpusoak::harness
