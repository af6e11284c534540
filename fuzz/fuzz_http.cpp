// gpusoakd's HTTP request handling in process, without sockets. The input is a raw HTTP/1.1
// request: its head goes through Beast's parser with the server's header limit, as the server
// reads it; whatever follows the blank line is the body as given (Content-Length is not enforced
// here, so a mutated length does not hide the handler). handle_request then answers it twice, over
// a real run store and the shipped plans (tests/harness/api_fixture.hpp): once without a token and
// once with one. Properties, besides no crash and no sanitizer report:
//   - the status is 2xx, 4xx or 503, never a 500 or another 5xx: bad input is the client's error
//     (507 needs a full disk, which the fixture's store never is);
//   - every 4xx/503 is JSON {"error": "..."} with a message, and every JSON answer parses;
//   - Content-Length matches the body (HEAD: no body, and GET's status and Content-Length);
//   - no run starts (the manager is shut down): a request that passes validation gets 503, and
//     only a POST /api/v1/runs whose "plan" names a file in the plans folder (or that gives
//     "plan_yaml") gets that far, so no name reaches a file outside it;
//   - with a token, a POST without the exact "Authorization: Bearer <token>" changes nothing (401,
//     or 404/405 for a route that does not take it); a 401 carries WWW-Authenticate;
//   - a POST with an Origin header (a web page's) changes nothing either (403, 404, 405).
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "api_fixture.hpp"
#include "fuzz_check.hpp"
#include "gpusoak/scenarios/plan.hpp"

namespace {

namespace http = boost::beast::http;

// The oracle for the right Authorization value, written apart from the daemon's: "Bearer" in any
// case (RFC 9110 11.1), one or more spaces (1*SP), then exactly the fixture's token.
bool is_the_token(std::string_view value) {
  constexpr std::string_view scheme = "bearer";
  if (value.size() <= scheme.size() || value[scheme.size()] != ' ') return false;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != scheme[i]) return false;
  }
  const auto start = value.find_first_not_of(' ', scheme.size());
  return start != std::string_view::npos && value.substr(start) == gpusoak::test::api_fixture::token;
}

using gpusoak::harness::http_request;
using gpusoak::harness::http_response;
using nlohmann::json;

gpusoak::test::api_fixture& fixture() {
  static const auto instance = std::make_unique<gpusoak::test::api_fixture>(GPUSOAK_PLANS_DIR);
  return *instance;
}

// The request the server would hand to the handler, or none when the head does not parse (the
// server answers those itself: 400, or 431 over the header limit).
std::optional<http_request> parse_request(std::string_view input) {
  std::size_t head_end = input.find("\r\n\r\n");
  std::size_t separator = 4;
  if (head_end == std::string_view::npos) {
    head_end = input.find("\n\n");
    separator = 2;
  }
  std::string head(input.substr(0, head_end));
  const std::string_view body =
      head_end == std::string_view::npos ? std::string_view{} : input.substr(head_end + separator);
  head += "\r\n\r\n";
  http::request_parser<http::empty_body> parser;
  parser.header_limit(16 * 1024);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(head), ec);
  if (ec && ec != http::error::need_more) return std::nullopt;
  if (!parser.is_header_done()) return std::nullopt;
  http_request request(std::move(parser.release().base()));
  request.body() = std::string(body);
  return request;
}

std::string_view field(const http_response& res, http::field name) {
  const auto it = res.find(name);
  return it == res.end() ? std::string_view{} : std::string_view(it->value().data(), it->value().size());
}

void check_response(const http_request& req, const http_response& res, bool tokened) {
  const unsigned status = res.result_int();
  const std::string target(req.target());
  GPUSOAK_FUZZ_CHECK(status == 200 || status == 202 || (status >= 400 && status < 500) || status == 503,
                     "status %u for %s %s: %s", status, std::string(req.method_string()).c_str(), target.c_str(),
                     res.body().c_str());
  if (req.method() == http::verb::head) {
    // HEAD answers as GET would, without the body (RFC 9110 9.3.2): Content-Length is GET's.
    GPUSOAK_FUZZ_CHECK(res.body().empty(), "HEAD %s answered with a body of %zu bytes", target.c_str(),
                       res.body().size());
    GPUSOAK_FUZZ_CHECK(!field(res, http::field::content_length).empty(), "HEAD %s without Content-Length",
                       target.c_str());
    return;
  }
  GPUSOAK_FUZZ_CHECK(field(res, http::field::content_length) == std::to_string(res.body().size()),
                     "Content-Length %s for a body of %zu bytes",
                     std::string(field(res, http::field::content_length)).c_str(), res.body().size());
  if (field(res, http::field::content_type) == "application/json") {
    const auto body = json::parse(res.body(), nullptr, false);
    GPUSOAK_FUZZ_CHECK(!body.is_discarded(), "status %u: the JSON answer does not parse: %s", status,
                       res.body().c_str());
  }
  if (status >= 400) {
    GPUSOAK_FUZZ_CHECK(field(res, http::field::content_type) == "application/json", "status %u is not JSON", status);
    const auto body = json::parse(res.body(), nullptr, false);
    GPUSOAK_FUZZ_CHECK(body.is_object() && body.contains("error") && body["error"].is_string() &&
                           !body["error"].get<std::string>().empty(),
                       "status %u without an error message: %s", status, res.body().c_str());
  }
  const bool post = req.method() == http::verb::post;
  const std::string_view path = std::string_view(target).substr(0, target.find('?'));
  if (status == 503) {
    GPUSOAK_FUZZ_CHECK(post && (path == "/api/v1/runs" || path == "/api/v1/runs/"), "503 for %s", target.c_str());
    const auto body = json::parse(req.body(), nullptr, false);
    if (body.is_object() && body.contains("plan") && body["plan"].is_string()) {
      const std::string name = body["plan"].get<std::string>();
      GPUSOAK_FUZZ_CHECK(
          gpusoak::scenarios::is_valid_plan_name(name) &&
              std::filesystem::is_regular_file(std::filesystem::path(GPUSOAK_PLANS_DIR) / (name + ".yaml")),
          "plan name '%s' passed validation", name.c_str());
    }
  }
  if (post && req.find(http::field::origin) != req.end()) {
    GPUSOAK_FUZZ_CHECK(status == 403 || status == 404 || status == 405, "POST %s from a web page (Origin) got %u",
                       target.c_str(), status);
  }
  if (tokened && post) {
    const auto auth = req.find(http::field::authorization);
    const bool right = auth != req.end() && is_the_token(std::string_view(auth->value().data(), auth->value().size()));
    GPUSOAK_FUZZ_CHECK(right || status == 401 || status == 403 || status == 404 || status == 405,
                       "POST %s without the token got %u", target.c_str(), status);
  }
  if (status == 401) {
    GPUSOAK_FUZZ_CHECK(tokened && !field(res, http::field::www_authenticate).empty(), "401 %s",
                       tokened ? "without WWW-Authenticate" : "without a token set");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto request = parse_request(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!request) return 0;
  auto& api = fixture();
  for (const bool tokened : {false, true}) {
    const auto answer = [&](const http_request& r) { return tokened ? api.tokened(r) : api.open(r); };
    const auto res = answer(*request);
    check_response(*request, res, tokened);
    if (request->method() != http::verb::head) continue;
    // Whatever GET answers (checked like any answer), HEAD answers with the same status and length.
    auto get = *request;
    get.method(http::verb::get);
    const auto as_get = answer(get);
    check_response(get, as_get, tokened);
    GPUSOAK_FUZZ_CHECK(res.result_int() == as_get.result_int(), "HEAD %s got %u where GET got %u",
                       std::string(request->target()).c_str(), res.result_int(), as_get.result_int());
    GPUSOAK_FUZZ_CHECK(field(res, http::field::content_length) == std::to_string(as_get.body().size()),
                       "HEAD %s: Content-Length %s where GET's body has %zu bytes",
                       std::string(request->target()).c_str(),
                       std::string(field(res, http::field::content_length)).c_str(), as_get.body().size());
  }
  return 0;
}
