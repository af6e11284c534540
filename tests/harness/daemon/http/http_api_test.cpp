// gpusoakd's request handler (handle_request) in process over a real run store and the shipped
// plans, with a run manager that was shut down so nothing starts (api_fixture.hpp): token checks,
// plan names that try to leave the plans folder, and the fuzz_http findings, each with its input.
// daemon_test covers the same API over real sockets with real runs.
#include "gpusoak/harness/http_api.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api_fixture.hpp"
#include "stored_run_builder.hpp"
#include "temp_dir.hpp"

namespace gpusoak::harness {
namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using nlohmann::json;

http_request make_request(http::verb verb, const std::string& target, const std::string& body = {},
                          const std::optional<std::string>& authorization = std::nullopt) {
  http_request req{verb, target, 11};
  if (authorization) req.set(http::field::authorization, *authorization);
  req.body() = body;
  req.prepare_payload();
  return req;
}

// The error message of a 4xx/5xx answer; fails the test when the body is not {"error": "..."}.
std::string error_of(const http_response& res) {
  const auto body = json::parse(res.body(), nullptr, false);
  EXPECT_TRUE(body.is_object() && body.contains("error") && body["error"].is_string()) << res.body();
  return body.is_object() && body.contains("error") && body["error"].is_string() ? body["error"].get<std::string>()
                                                                                 : std::string();
}

class HttpApiTest : public ::testing::Test {
 protected:
  test::api_fixture api_{GPUSOAK_PLANS_DIR};
};

// checks token auth both ways on every state-changing route: the exact bearer token passes (the
// shut-down manager then answers 503 or 409), anything else is 401 with WWW-Authenticate and a
// message, and GET needs no token. (Whitespace around a header value is not part of it in HTTP,
// and Beast drops it, so "Bearer <token> " is the right token.) The scheme matches in any case.
TEST_F(HttpApiTest, PostNeedsTheExactBearerTokenAndGetDoesNot) {
  const std::string right = std::string("Bearer ") + test::api_fixture::token;
  const std::string start = R"({"plan": "smoke", "time_scale": 0.05})";
  const std::string stop = std::string("/api/v1/runs/") + test::api_fixture::failed_run + "/stop";

  // The scheme name is case-insensitive (RFC 9110 11.1), the token is not, and one or more spaces
  // may come between them (1*SP, RFC 9110 11.4).
  for (const std::string& accepted :
       {right, "bearer " + std::string(test::api_fixture::token), "BEARER " + std::string(test::api_fixture::token),
        "Bearer  " + std::string(test::api_fixture::token)}) {
    EXPECT_EQ(api_.tokened(make_request(http::verb::post, "/api/v1/runs", start, accepted)).result_int(), 503)
        << accepted;
    EXPECT_EQ(api_.tokened(make_request(http::verb::post, stop, "", accepted)).result_int(), 409) << accepted;
  }
  for (const std::optional<std::string>& wrong :
       {std::optional<std::string>(), std::optional<std::string>(""), std::optional<std::string>("Bearer"),
        std::optional<std::string>("Bearer "), std::optional<std::string>(test::api_fixture::token),
        std::optional<std::string>("Bearer " +
                                   [] {
                                     std::string upper = test::api_fixture::token;
                                     for (auto& c : upper)
                                       c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                                     return upper;
                                   }()),
        std::optional<std::string>("Bearer:" + std::string(test::api_fixture::token)),
        std::optional<std::string>(right + "x"), std::optional<std::string>(right.substr(0, right.size() - 1)),
        std::optional<std::string>("Basic Zm9vOmJhcg==")}) {
    for (const auto& [target, body] : {std::pair<std::string, std::string>{"/api/v1/runs", start}, {stop, ""}}) {
      const auto res = api_.tokened(make_request(http::verb::post, target, body, wrong));
      EXPECT_EQ(res.result_int(), 401) << target << " with '" << wrong.value_or("(none)") << "'";
      EXPECT_NE(res.find(http::field::www_authenticate), res.end());
      EXPECT_NE(error_of(res).find("token"), std::string::npos) << res.body();
    }
  }
  for (const std::string& target :
       std::vector<std::string>{"/api/v1/runs", "/healthz", "/metrics",
                                std::string("/api/v1/runs/") + test::api_fixture::failed_run + "/gate"}) {
    EXPECT_EQ(api_.tokened(make_request(http::verb::get, target)).result_int(), 200) << target;
  }
  // Without a token set, the same POST passes auth and reaches the manager.
  EXPECT_EQ(api_.open(make_request(http::verb::post, "/api/v1/runs", start)).result_int(), 503);
}

// checks that HEAD is answered wherever GET is, with GET's status and Content-Length and no body,
// and that the 405 for another method lists HEAD beside GET
TEST_F(HttpApiTest, HeadIsAnsweredLikeGetWithoutABody) {
  for (const std::string& target : std::vector<std::string>{
           "/healthz", "/metrics", "/api/v1/runs", std::string("/api/v1/runs/") + test::api_fixture::failed_run}) {
    const auto get = api_.open(make_request(http::verb::get, target));
    const auto head = api_.open(make_request(http::verb::head, target));
    EXPECT_EQ(head.result_int(), get.result_int()) << target;
    EXPECT_TRUE(head.body().empty()) << target;
    EXPECT_EQ(head[http::field::content_length], std::to_string(get.body().size())) << target;
  }
  const auto put = api_.open(make_request(http::verb::put, "/healthz"));
  EXPECT_EQ(put.result_int(), 405);
  EXPECT_EQ(put[http::field::allow], "GET, HEAD");
}

// checks that GET .../gate evaluates without writing: a failed run whose stored verdicts differ from
// what its plan evaluates to keeps them, its state and reason, in every format; and that GET
// .../runs/{id} names what the run ran
TEST_F(HttpApiTest, GateGetChangesNothingInTheStore) {
  auto& store = api_.store();
  // Not what the plan gives: a rewrite would show.
  const std::vector<threshold_result> verdicts{{"the runner's own", 42, false}, {"and another", 7, true}};
  const std::string id = test::stored_run_builder(store, {.plan_name = "report-test",
                                                          .plan_text = test::report_plan_yaml,
                                                          .device = "egl_device:0",
                                                          .mask = "buffer_storage",
                                                          .gpusoak_commit = "abc123def456"})
                             .running()
                             .sample({.t_seconds = 1, .scenario = "conv2d_steady", .copies_total = 5})
                             .verdicts(verdicts)
                             .finish(run_state::failed, "as the runner left it")
                             .id();
  const auto before = store.get_run(id).value();
  for (const char* format : {"json", "table", "junit"}) {
    const auto res = api_.open(make_request(http::verb::get, "/api/v1/runs/" + id + "/gate?format=" + format));
    EXPECT_EQ(res.result_int(), 200) << format << ": " << res.body();
  }
  const auto gate = json::parse(api_.open(make_request(http::verb::get, "/api/v1/runs/" + id + "/gate")).body());
  EXPECT_EQ(gate["provenance"]["mask"], "buffer_storage");
  EXPECT_EQ(gate["rows"].size(), 4u);  // the plan's thresholds, evaluated
  EXPECT_EQ(store.verdicts(id).value(), verdicts);
  EXPECT_TRUE(store.evaluations(id).value().empty());
  const auto after = store.get_run(id).value();
  EXPECT_EQ(after.state, before.state);
  EXPECT_EQ(after.verdict_reason, before.verdict_reason);
  EXPECT_EQ(after.ended_at, before.ended_at);
  EXPECT_EQ(after.verdict_count, 2);

  const auto run = json::parse(api_.open(make_request(http::verb::get, "/api/v1/runs/" + id)).body());
  EXPECT_EQ(run["provenance"]["mask"], "buffer_storage");
  EXPECT_EQ(run["provenance"]["gpusoak_commit"], "abc123def456");
  EXPECT_EQ(run["provenance"]["plan_sha256"], before.provenance.plan_sha256);
  EXPECT_EQ(run["provenance"]["plan_sha256"].get<std::string>().size(), 64u);
}

// checks that a POST from a web page (any Origin header) is refused with 403 on both routes, with or
// without the token, so a page the operator opens cannot start runs on a loopback daemon
TEST_F(HttpApiTest, PostFromAWebPageIsRefused) {
  const std::string right = std::string("Bearer ") + test::api_fixture::token;
  const std::string stop = std::string("/api/v1/runs/") + test::api_fixture::failed_run + "/stop";
  for (const std::string origin : {"https://evil.example", "null", "http://127.0.0.1:9464"}) {
    for (const auto& [target, body] :
         {std::pair<std::string, std::string>{"/api/v1/runs", R"({"plan": "smoke"})"}, {stop, ""}}) {
      for (const bool tokened : {false, true}) {
        auto req = make_request(http::verb::post, target, body, tokened ? std::optional(right) : std::nullopt);
        req.set(http::field::origin, origin);
        req.set(http::field::content_type, "text/plain");
        const auto res = tokened ? api_.tokened(req) : api_.open(req);
        EXPECT_EQ(res.result_int(), 403) << target << " Origin: " << origin;
        EXPECT_NE(error_of(res).find("web pages"), std::string::npos) << res.body();
      }
    }
  }
  // The same request without Origin reaches the manager; GET with Origin stays open.
  EXPECT_EQ(api_.open(make_request(http::verb::post, "/api/v1/runs", R"({"plan": "smoke"})")).result_int(), 503);
  auto get = make_request(http::verb::get, "/api/v1/runs");
  get.set(http::field::origin, "https://evil.example");
  EXPECT_EQ(api_.open(get).result_int(), 200);
}

// checks that every error kind maps to the documented status: bad input is 4xx, the daemon's own
// trouble 5xx, and a missing thing 404 only
TEST(HttpStatus, EachKindHasItsStatus) {
  const std::vector<std::pair<error_kind, unsigned>> table{
      {error_kind::validation, 400},   {error_kind::not_found, 404},     {error_kind::conflict, 409},
      {error_kind::unsupported, 422},  {error_kind::out_of_memory, 503}, {error_kind::out_of_space, 507},
      {error_kind::context_lost, 503}, {error_kind::unavailable, 503},   {error_kind::io, 500},
      {error_kind::internal, 500}};
  for (const auto& [kind, status] : table) EXPECT_EQ(http_status(kind), status) << to_string(kind);
}

// checks that GET /api/v1/runs/{id} answers 404 only for a run the store does not hold: once the
// store cannot be read (a table renamed behind its back by another connection) the same run is a
// 500 naming the store's error, and so is the run list; stopping a finished run stays a 409
TEST_F(HttpApiTest, StoreFailureIs500AndOnlyAMissingRunIs404) {
  const std::string run = std::string("/api/v1/runs/") + test::api_fixture::failed_run;
  ASSERT_EQ(api_.open(make_request(http::verb::get, run)).result_int(), 200);
  const auto missing = api_.open(make_request(http::verb::get, "/api/v1/runs/r-19990101-0001"));
  EXPECT_EQ(missing.result_int(), 404);
  EXPECT_NE(error_of(missing).find("no run 'r-19990101-0001'"), std::string::npos) << missing.body();
  const auto stop = api_.open(make_request(http::verb::post, run + "/stop"));
  EXPECT_EQ(stop.result_int(), 409) << stop.body();

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(api_.db_path().c_str(), &db), SQLITE_OK);
  const int renamed = sqlite3_exec(db, "ALTER TABLE samples RENAME TO samples_gone", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  ASSERT_EQ(renamed, SQLITE_OK);

  for (const std::string& target : {run, std::string("/api/v1/runs"), run + "/gate", run + "/report"}) {
    const auto res = api_.open(make_request(http::verb::get, target));
    EXPECT_EQ(res.result_int(), 500) << target << ": " << res.body();
    EXPECT_NE(error_of(res).find("samples"), std::string::npos) << target << ": " << res.body();
  }
  EXPECT_EQ(api_.open(make_request(http::verb::get, "/api/v1/runs/r-19990101-0001")).result_int(), 500)
      << "a store that cannot be read does not know that a run is missing";
}

// checks that a plan name in a request reaches no file but <plans dir>/<name>.yaml: traversal,
// absolute paths, URL- and JSON-escaped separators and NUL bytes are refused (400) before the file
// system is touched, a directory symlink in the plans folder cannot be walked through, and a file
// symlink the operator put there is followed
TEST(HttpApiPlanNames, CannotLeaveThePlansFolder) {
  test::temp_dir dir("gpusoak-plan-names");
  const fs::path plans = dir / "plans";
  const fs::path outside = dir / "outside";
  fs::create_directories(plans);
  fs::create_directories(outside);
  std::ifstream smoke(fs::path(GPUSOAK_PLANS_DIR) / "smoke.yaml");
  const std::string plan_text((std::istreambuf_iterator<char>(smoke)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(plan_text.empty());
  std::ofstream(plans / "ok.yaml") << plan_text;
  std::ofstream(outside / "secret.yaml") << plan_text;
  std::ofstream(dir / "secret.yaml") << plan_text;
  fs::create_directory_symlink(outside, plans / "escape");
  test::api_fixture api(plans);

  auto start = [&](const json& name) {
    return api.open(make_request(http::verb::post, "/api/v1/runs", json{{"plan", name}}.dump()));
  };
  EXPECT_EQ(start("ok").result_int(), 503) << "a plan in the folder passes every check";
  for (const std::string& bad :
       std::vector<std::string>{"../secret", "..", "../outside/secret", "escape/secret", "./ok", "ok/", "/etc/passwd",
                                (dir / "secret").string(), "%2e%2e%2fsecret", "..%2Fsecret", "escape%2fsecret",
                                "..\\secret", std::string("ok\0../secret", 12), "ok.yaml", "ok\n", " ok", ""}) {
    const auto res = start(bad);
    EXPECT_EQ(res.result_int(), 400) << json(bad).dump();
    EXPECT_NE(error_of(res).find("is not a plan name"), std::string::npos) << res.body();
  }
  // JSON escapes decode before the check: "\u002e\u002e\u002fsecret" is "../secret".
  const auto escaped =
      api.open(make_request(http::verb::post, "/api/v1/runs", R"({"plan": "\u002e\u002e\u002fsecret"})"));
  EXPECT_EQ(escaped.result_int(), 400) << escaped.body();
  // A file symlink in the folder is the operator's choice and is followed, like any plan there.
  fs::create_symlink(dir / "secret.yaml", plans / "linked.yaml");
  EXPECT_EQ(start("linked").result_int(), 503);
  // A name that is allowed but names no file lists what exists, and nothing outside.
  const auto missing = start("secret");
  EXPECT_EQ(missing.result_int(), 404);
  EXPECT_NE(error_of(missing).find("available: linked, ok"), std::string::npos) << missing.body();
}

}  // namespace
}  // namespace gpusoak::harness
