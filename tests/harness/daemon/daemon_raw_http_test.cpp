// gpusoakd's HTTP server as raw TCP sees it: malformed request lines, headers, lengths and chunked
// bodies, oversized heads, a smuggling attempt, pipelined requests, and clients that are slow,
// silent, or gone mid-body. Each gets a 4xx that names the problem (or, where HTTP has no answer,
// a clean close), nothing crashes the daemon, other clients are served meanwhile, and a run started
// before it all goes on untouched.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon_calls.hpp"
#include "daemon_process.hpp"
#include "raw_http_client.hpp"
#include "store_file.hpp"
#include "temp_dir.hpp"

namespace gpusoak::harness {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using nlohmann::json;

// A run that outlasts every test here; stopped at the end of the one that starts it.
constexpr const char* long_plan = R"(name: raw_http
devices: [0]
sample_interval: 100ms
phases:
  - name: conv
    duration: 10m
    scenarios:
      - name: conv2d_steady
        params: {shapes: ["N1 C3 16x16 K8 3x3 p1"]}
)";

std::unique_ptr<test::raw_connection> connect(const test::daemon_process& d) {
  return std::make_unique<test::raw_connection>("127.0.0.1", std::stoi(d.url().port));
}

std::string error_of(const test::raw_response& r) {
  const auto j = json::parse(r.body, nullptr, false);
  return j.is_object() ? j.value("error", "") : "";
}

class daemon_raw_http : public ::testing::Test {
 protected:
  test::temp_dir dir_{"gpusoakd-raw"};
};

// checks a table of malformed requests sent as raw bytes: each gets exactly one 4xx whose message
// names the problem, the connection is closed after it, the daemon answers /healthz after each, and
// the run started before the table is still running with its samples growing
TEST_F(daemon_raw_http, malformed_requests_get_a_4xx_naming_the_problem) {
  test::daemon_process d(dir_ / "state");
  const auto started = d.call("POST", "/api/v1/runs", json{{"plan_yaml", long_plan}}.dump());
  ASSERT_EQ(started.status, 201) << started.body;
  const std::string id = test::body_json(started)["id"];

  struct bad_input {
    std::string what, bytes;
    int status;
    std::string message_part;
  };
  const std::string post = "POST /api/v1/runs HTTP/1.1\r\nHost: x\r\n";
  const std::vector<bad_input> table{
      {"no method in the request line", "GARBAGE\r\n\r\n", 400, "must start with a method"},
      {"two spaces in the request line", "GET  /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400, "request target"},
      {"NUL byte in the path", "GET /heal\0thz HTTP/1.1\r\nHost: x\r\n\r\n"s, 400, "request target"},
      {"HTTP/0.9 request line", "GET /healthz\r\n\r\n", 400, "request target"},
      {"HTTP/2.0", "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 400, "HTTP/1.1 or HTTP/1.0"},
      {"HTTP/1.2", "GET /healthz HTTP/1.2\r\nHost: x\r\n\r\n", 400, "HTTP/1.1 or HTTP/1.0"},
      {"version not digits", "GET /healthz HTTP/x.y\r\nHost: x\r\n\r\n", 400, "HTTP/1.1 or HTTP/1.0"},
      {"bare LF line ends", "GET /healthz HTTP/1.1\nHost: x\n\n", 400, "malformed HTTP request"},
      {"HTTP/1.1 without Host", "GET /healthz HTTP/1.1\r\n\r\n", 400,
       "needs a Host header: 'Host: 127.0.0.1:" + d.url().port + "'"},
      {"header line without a colon", "GET /healthz HTTP/1.1\r\nHost x\r\n\r\n", 400, "a name and a colon"},
      {"space before the colon", "GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n", 400, "a name and a colon"},
      {"control byte in a header value", "GET /healthz HTTP/1.1\r\nHost: x\x01y\r\n\r\n", 400, "control characters"},
      {"Content-Length not a number", post + "Content-Length: abc\r\n\r\n", 400, "Content-Length must be"},
      {"negative Content-Length", post + "Content-Length: -1\r\n\r\n{}", 400, "Content-Length must be"},
      {"Content-Length past 2^64", post + "Content-Length: 99999999999999999999999\r\n\r\n", 400,
       "Content-Length must be"},
      {"two different Content-Lengths", post + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400,
       "Content-Length must be"},
      {"Content-Length over the body limit, no body", post + "Content-Length: 2000000\r\n\r\n", 413, "larger than"},
      {"Content-Length and chunked",
       post + "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 400,
       "Transfer-Encoding must end in 'chunked'"},
      {"chunk size not hex", post + "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400, "chunked body"},
      {"chunk size past 2^64", post + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nabc\r\n0\r\n\r\n", 400,
       "chunked body"},
      {"chunk without its CRLF", post + "Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n", 400, "chunked body"},
      // Read as bodiless, the GET would be served as a second request: smuggled past whatever
      // inspected the first. Exactly one answer, the 400, must come back.
      {"Transfer-Encoding gzip hiding a second request",
       post + "Transfer-Encoding: gzip\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400,
       "Transfer-Encoding must end in 'chunked'"},
      {"a header over 16 KiB", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n",
       431, "16 KiB"},
      {"a path over 16 KiB", "GET /" + std::string(20000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 431, "16 KiB"},
      {"150 header fields",
       [] {
         std::string r = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
         for (int i = 0; i < 149; ++i) r += fmt::format("X-{}: y\r\n", i);
         return r + "\r\n";
       }(),
       431, "at most 100"},
      {"unknown method", "FOO /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405, "method FOO"},
  };
  const auto counted_before = test::scrape(d, "gpusoak_http_requests_total");
  for (const auto& bad : table) {
    auto c = connect(d);
    c->send(bad.bytes);
    const auto got = c->read_until_close(5s);
    const auto responses = test::parse_responses(got.bytes);
    ASSERT_EQ(responses.size(), 1u) << bad.what << ": " << got.bytes.substr(0, 400);
    EXPECT_EQ(responses[0].status, bad.status) << bad.what << ": " << responses[0].body;
    EXPECT_NE(error_of(responses[0]).find(bad.message_part), std::string::npos)
        << bad.what << ": the message should name '" << bad.message_part << "': " << responses[0].body;
    EXPECT_TRUE(got.closed) << bad.what << ": the connection should close after the answer";
    ASSERT_TRUE(d.running()) << bad.what << " crashed the daemon:\n" << d.log();
    ASSERT_EQ(d.call("GET", "/healthz").status, 200) << "after " << bad.what;
  }
  std::cout << fmt::format("raw HTTP: {} malformed inputs, each a 4xx with its reason\n", table.size());

  // Each answer is counted by its status, whether the server sent it before the API saw the
  // request (400, 413, 431) or the API did (405): a dashboard sees malformed traffic.
  std::map<int, int> sent;
  for (const auto& bad : table) ++sent[bad.status];
  const auto counted_after = test::scrape(d, "gpusoak_http_requests_total");
  for (const auto& [status, count] : sent) {
    const std::string series = fmt::format("gpusoak_http_requests_total{{code=\"{}\"}}", status);
    const auto before = counted_before.contains(series) ? counted_before.at(series) : 0.0;
    const auto after = counted_after.contains(series) ? counted_after.at(series) : 0.0;
    EXPECT_EQ(after - before, count) << series;
  }

  // The run went on through it all.
  const auto before = test::get_run(d, id).value("samples", 0);
  test::wait_run(
      d, id, [&](const json& run) { return run.value("state", "") == "running" && run.value("samples", 0) > before; },
      20s, "the run still sampling");
  EXPECT_EQ(d.call("POST", "/api/v1/runs/" + id + "/stop").status, 202);
  EXPECT_EQ(test::wait_final(d, id, 60s)["state"], "aborted");
  EXPECT_EQ(test::store_file(dir_ / "state" / "runs.db").integrity_check(), "ok");
}

// checks pipelining: requests sent back to back in one write are answered in order on the one
// connection, and a bad one after a good one gets its 400 after the good one's 200
TEST_F(daemon_raw_http, pipelined_requests_are_answered_in_order) {
  test::daemon_process d(dir_ / "state");
  const std::string body = R"({"plan": "no_such_plan"})";
  {
    auto c = connect(d);
    c->send(
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /api/v1/runs?limit=0 HTTP/1.1\r\nHost: x\r\n\r\n" +
        fmt::format("POST /api/v1/runs HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{}", body.size(), body) +
        "GET /api/v1/runs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const auto got = c->read_until_close(5s);
    const auto responses = test::parse_responses(got.bytes);
    ASSERT_EQ(responses.size(), 4u) << got.bytes;
    EXPECT_EQ(responses[0].status, 200);
    EXPECT_EQ(json::parse(responses[0].body, nullptr, false).value("status", ""), "ok");
    EXPECT_EQ(responses[1].status, 400);
    EXPECT_NE(error_of(responses[1]).find("limit"), std::string::npos) << responses[1].body;
    EXPECT_EQ(responses[2].status, 404);
    EXPECT_NE(error_of(responses[2]).find("no_such_plan"), std::string::npos) << responses[2].body;
    EXPECT_EQ(responses[3].status, 200);
    EXPECT_TRUE(json::parse(responses[3].body, nullptr, false).contains("runs")) << responses[3].body;
    EXPECT_TRUE(got.closed);
  }
  {
    auto c = connect(d);
    c->send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto got = c->read_until_close(5s);
    const auto responses = test::parse_responses(got.bytes);
    ASSERT_EQ(responses.size(), 2u) << got.bytes << "\n(nothing after the bad request is served)";
    EXPECT_EQ(responses[0].status, 200);
    EXPECT_EQ(responses[1].status, 400);
    EXPECT_TRUE(got.closed);
  }
  EXPECT_TRUE(d.running());
}

// checks clients that take too long, with --request-timeout 2s: a slowloris sending one byte a
// second and a body shorter than its Content-Length each get 408 at the deadline; a client that
// sends nothing, and an idle keep-alive connection, are closed without an answer; while all of them
// hang on, other clients are served at once. A client gone mid-body, and one that half-closes
// mid-body (400), leave the daemon serving
TEST_F(daemon_raw_http, slow_silent_and_vanishing_clients) {
  constexpr auto timeout = 2s;
  test::daemon_process d(dir_ / "state", {"--request-timeout", "2s"});
  const auto t0 = std::chrono::steady_clock::now();
  auto since_start = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };

  auto slowloris = connect(d);
  slowloris->send("GET /healthz HTTP/1.1\r\nHost: x\r\n");
  auto short_body = connect(d);
  short_body->send("POST /api/v1/runs HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"plan\": ");
  auto silent = connect(d);
  auto idle = connect(d);
  idle->send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto first = test::read_responses(*idle, 1, 2s);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].status, 200);

  // One byte a second from the slowloris; others served in between, each at once.
  int served_while_held = 0;
  double slowest_request = 0;
  std::string slow_bytes;
  for (int second = 0; second < 6 && slow_bytes.empty(); ++second) {
    for (int i = 0; i < 4; ++i) {
      const auto r0 = std::chrono::steady_clock::now();
      ASSERT_EQ(d.call("GET", "/healthz").status, 200);
      const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - r0).count();
      slowest_request = std::max(slowest_request, took);
      if (since_start() < 1.8) ++served_while_held;
    }
    slowloris->send("X");  // fails once the daemon closed its side: the loop then reads the 408
    slow_bytes = slowloris->read_for(1s);
  }
  const double slowloris_cut_at = since_start();
  const auto slow_responses = test::parse_responses(slow_bytes + slowloris->read_until_close(2s).bytes);
  ASSERT_EQ(slow_responses.size(), 1u) << slow_bytes;
  EXPECT_EQ(slow_responses[0].status, 408);
  EXPECT_NE(error_of(slow_responses[0]).find("not received whole within 2000 ms"), std::string::npos)
      << slow_responses[0].body;
  EXPECT_GE(slowloris_cut_at, 1.9);
  EXPECT_LE(slowloris_cut_at, 5.0) << "cut near the 2 s deadline, not later";
  EXPECT_GE(served_while_held, 4) << "others were served while the slow clients held connections";
  EXPECT_LT(slowest_request, 1.0) << "no request waited behind the slow clients";

  const auto short_got = short_body->read_until_close(3s);
  const auto short_responses = test::parse_responses(short_got.bytes);
  ASSERT_EQ(short_responses.size(), 1u) << short_got.bytes;
  EXPECT_EQ(short_responses[0].status, 408);
  EXPECT_TRUE(short_got.closed);
  const auto silent_got = silent->read_until_close(3s);
  EXPECT_TRUE(silent_got.closed) << "a silent client is closed at the deadline";
  EXPECT_EQ(silent_got.bytes, "") << "and gets no answer: it asked nothing";
  const auto idle_got = idle->read_until_close(3s);
  EXPECT_TRUE(idle_got.closed) << "an idle keep-alive connection is closed at the deadline";
  EXPECT_EQ(idle_got.bytes, "");
  EXPECT_LT(since_start(), 2 * std::chrono::duration<double>(timeout).count() + 3.0);

  {
    auto gone = connect(d);
    gone->send("POST /api/v1/runs HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"plan\"");
    gone->close();
  }
  {
    auto half = connect(d);
    half->send("POST /api/v1/runs HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"plan\"");
    half->shutdown_write();
    const auto got = half->read_until_close(3s);
    const auto responses = test::parse_responses(got.bytes);
    ASSERT_EQ(responses.size(), 1u) << got.bytes;
    EXPECT_EQ(responses[0].status, 400);
    EXPECT_NE(error_of(responses[0]).find("ended before the whole request arrived"), std::string::npos)
        << responses[0].body;
  }
  ASSERT_TRUE(d.running()) << d.log();
  EXPECT_EQ(d.call("GET", "/healthz").status, 200);
  std::cout << fmt::format(
      "raw HTTP: slowloris cut with 408 after {:.1f} s (timeout 2 s), {} requests served meanwhile, slowest {:.3f} s\n",
      slowloris_cut_at, served_while_held, slowest_request);
}

// checks --request-timeout's validation: a number without a unit and a value under 100 ms are
// refused (exit 2) with a message naming the flag
TEST_F(daemon_raw_http, request_timeout_flag_is_validated) {
  for (const char* bad : {"5", "10ms", "2h", "soon"}) {
    const auto log = dir_ / fmt::format("refused-{}.log", bad);
    EXPECT_EQ(test::daemon_process::run_to_exit({"--request-timeout", bad, "--state-dir", (dir_ / "s").string()}, log),
              2)
        << bad;
    std::ifstream file(log);
    std::stringstream text;
    text << file.rdbuf();
    EXPECT_NE(text.str().find("--request-timeout"), std::string::npos) << bad << ": " << text.str();
  }
}

}  // namespace
}  // namespace gpusoak::harness
