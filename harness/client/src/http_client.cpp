#include "gpusoak/harness/http_client.hpp"

#include <fmt/format.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace gpusoak::harness {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

result<daemon_url> parse_daemon_url(std::string_view url) {
  auto bad = [&] {
    return make_error(error_kind::validation,
                      fmt::format("daemon URL '{}': use http://HOST[:PORT], e.g. http://127.0.0.1:9464", url));
  };
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme)) return bad();
  std::string_view rest = url.substr(scheme.size());
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.empty() || rest.find('/') != std::string_view::npos) return bad();
  daemon_url out;
  const auto colon = rest.rfind(':');
  if (colon == std::string_view::npos || rest.back() == ']') {
    out.host = std::string(rest);
  } else {
    out.host = std::string(rest.substr(0, colon));
    out.port = std::string(rest.substr(colon + 1));
    if (out.port.empty() || out.port.find_first_not_of("0123456789") != std::string::npos || out.port.size() > 5) {
      return bad();
    }
  }
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  if (out.host.empty()) return bad();
  return out;
}

result<http_reply> http_call(const daemon_url& url, std::string_view method, std::string_view target,
                             std::string_view body, const std::optional<std::string>& token,
                             std::chrono::seconds timeout) {
  auto unreachable = [&](const beast::error_code& ec) {
    return make_error(error_kind::io, fmt::format("cannot reach gpusoakd at {}: {} (is it running? --daemon URL)",
                                                  url.text(), ec.message()));
  };
  asio::io_context io;
  beast::error_code ec;
  asio::ip::tcp::resolver resolver(io);
  const auto endpoints = resolver.resolve(url.host, url.port, ec);
  if (ec) return unreachable(ec);
  beast::tcp_stream stream(io);
  stream.expires_after(timeout);
  stream.connect(endpoints, ec);
  if (ec) return unreachable(ec);

  http::request<http::string_body> req{http::string_to_verb(beast::string_view(method.data(), method.size())),
                                       beast::string_view(target.data(), target.size()), 11};
  req.set(http::field::host, url.host);
  req.set(http::field::user_agent, "gpusoak");
  if (token) req.set(http::field::authorization, "Bearer " + *token);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::string(body);
  }
  req.prepare_payload();
  stream.expires_after(timeout);
  http::write(stream, req, ec);
  // A server may answer before it has read the whole request (a 413 for a large body) and stop
  // reading: the write then fails, but the answer is there to read, and it says more.
  const beast::error_code write_error = ec;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  http::read(stream, buffer, parser, ec);
  if (ec) return unreachable(write_error ? write_error : ec);
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  auto res = parser.release();
  return http_reply{.status = static_cast<int>(res.result_int()), .body = std::move(res.body())};
}

error_kind error_kind_of_status(int status) noexcept {
  switch (status) {
    case 400: return error_kind::validation;
    case 404: return error_kind::not_found;
    case 409: return error_kind::conflict;
    case 422: return error_kind::unsupported;
    case 503: return error_kind::unavailable;
    case 507: return error_kind::out_of_space;
    default: return error_kind::internal;
  }
}

}  // namespace gpusoak::harness
