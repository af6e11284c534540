// gpusoakd as users run it: a real daemon process on loopback, real HTTP, a real SQLite store,
// real GL (llvmpipe in CI). Every endpoint with good and bad input, the smoke plan end to end with
// its metrics scraped, stop, kill -9 and SIGTERM with resume, token auth, the run report over the
// API, and the CLI against it.
#include <fmt/format.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon_calls.hpp"
#include "daemon_process.hpp"
#include "gpusoak/harness/build_info.hpp"
#include "gpusoak/harness/commands.hpp"
#include "gpusoak/harness/context_flags.hpp"
#include "gpusoak/harness/report.hpp"
#include "gpusoak/harness/run_store.hpp"
#include "temp_dir.hpp"
#include "test_plans.hpp"

namespace gpusoak::harness {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using test::short_plan;

using test::body_json;
using test::get_run;
using test::scrape;
using test::scrape_one;
using test::wait_final;

std::string start_body(const std::string& plan_yaml, double time_scale = 1.0) {
  return json{{"plan_yaml", plan_yaml}, {"time_scale", time_scale}}.dump();
}

// Polls until the run has stored samples up to plan time t.
void wait_elapsed(const test::daemon_process& d, const std::string& id, double t) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (get_run(d, id).value("elapsed_seconds", 0.0) >= t) return;
    std::this_thread::sleep_for(20ms);
  }
  ADD_FAILURE() << "run " << id << " never reached t=" << t;
}

std::string start(const test::daemon_process& d, const std::string& body,
                  const std::optional<std::string>& token = std::nullopt) {
  const auto reply = d.call("POST", "/api/v1/runs", body, token);
  EXPECT_EQ(reply.status, 201) << reply.body;
  return body_json(reply).value("id", "");
}

class daemon_test : public ::testing::Test {
 protected:
  test::temp_dir dir_{"gpusoakd"};
};

// checks every endpoint's answers to bad input: a 4xx with a message naming the problem, and a
// daemon that still serves afterwards and stored nothing
TEST_F(daemon_test, bad_requests_get_4xx_with_a_message_and_the_daemon_keeps_serving) {
  test::daemon_process d(dir_ / "state");
  struct bad_request {
    std::string method, target, body;
    int status;
    std::string message_part;
  };
  const std::vector<bad_request> table{
      {"POST", "/api/v1/runs", "{\"plan\": \"smoke\"", 400, "not JSON"},
      {"POST", "/api/v1/runs", "[1, 2]", 400, "JSON object"},
      {"POST", "/api/v1/runs", "{}", 400, "exactly one of"},
      {"POST", "/api/v1/runs", R"({"plan": 7})", 400, "\"plan\" must be a string"},
      {"POST", "/api/v1/runs", R"({"plan": "smoke", "plan_yaml": "x"})", 400, "exactly one of"},
      {"POST", "/api/v1/runs", R"({"plan": "../../etc/passwd"})", 400, "not a plan name"},
      {"POST", "/api/v1/runs", R"({"plan": "no_such_plan"})", 404, "available: nightly, release, smoke"},
      {"POST", "/api/v1/runs", R"({"plan": "smoke", "time_scale": -1})", 400, "time_scale"},
      {"POST", "/api/v1/runs", R"({"plan": "smoke", "time_scale": "fast"})", 400, "time_scale"},
      {"POST", "/api/v1/runs", R"({"plan": "smoke", "speed": 2})", 400, "unknown field \"speed\""},
      {"POST", "/api/v1/runs", R"({"plan": "smoke", "time_scale": 1e7})", 400,
       "makes the plan last 333333h (2m x 1e+07); a run lasts at most 100000h: use a time scale <= 3e+06"},
      {"POST", "/api/v1/runs", R"({"plan": "smoke", "time_scale": 1e-300})", 400,
       "each scenario needs at least 3 samples of 100ms in each phase to be gated: use a time scale >= 0.015"},
      {"POST", "/api/v1/runs", R"({"plan_yaml": "name: x\nphases: []\n"})", 400, "<request>"},
      {"POST", "/api/v1/runs", R"({"plan_yaml": "name: x\nphases:\n  - name: p\n    duration: -5s\n"})", 400,
       "duration"},
      {"GET", "/api/v1/runs/r-20000101-0001", "", 404, "no run"},
      {"GET", "/api/v1/runs?limit=0", "", 400, "limit"},
      {"GET", "/api/v1/runs?limit=abc", "", 400, "limit"},
      {"POST", "/api/v1/runs/r-20000101-0001/stop", "", 404, "no run"},
      {"GET", "/api/v1/runs/r-20000101-0001/gate", "", 404, "no run"},
      {"GET", "/api/v1/nothing", "", 404, "no route"},
      {"DELETE", "/api/v1/runs", "", 405, "not allowed"},
      {"GET", "/api/v1/runs/x/stop", "", 405, "not allowed"},
      {"POST", "/healthz", "", 405, "not allowed"},
      {"POST", "/api/v1/runs", std::string(2 << 20, 'x'), 413, "larger than"},
  };
  for (const auto& bad : table) {
    const auto reply = d.call(bad.method, bad.target, bad.body);
    EXPECT_EQ(reply.status, bad.status) << bad.method << " " << bad.target << " " << bad.body.substr(0, 80);
    const auto j = body_json(reply);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << reply.body;
    EXPECT_NE(j["error"].get<std::string>().find(bad.message_part), std::string::npos)
        << bad.target << ": " << j["error"];
    ASSERT_EQ(d.call("GET", "/healthz").status, 200) << "after " << bad.method << " " << bad.target;
  }
  const auto runs = body_json(d.call("GET", "/api/v1/runs"));
  EXPECT_TRUE(runs["runs"].empty()) << "no bad request stored a run";
  EXPECT_EQ(scrape_one(d, "gpusoak_http_requests_total{code=\"404\"}"), 5);
  EXPECT_TRUE(d.running());
}

// checks the shipped smoke plan end to end through the API: 201, a 409 while the GPU is busy,
// progress, every phase passed, the gate passing, and the metrics a dashboard reads
TEST_F(daemon_test, smoke_plan_end_to_end_with_metrics) {
  test::daemon_process d(dir_ / "state");
  const auto reply = d.call("POST", "/api/v1/runs", R"({"plan": "smoke", "time_scale": 0.05})");
  ASSERT_EQ(reply.status, 201) << reply.body;
  const std::string id = body_json(reply)["id"];
  EXPECT_EQ(d.call("POST", "/api/v1/runs", R"({"plan": "smoke"})").status, 409);
  EXPECT_EQ(body_json(d.call("GET", "/healthz"))["active_runs"][0]["id"], id);

  const auto run = wait_final(d, id);
  EXPECT_EQ(run["state"], "passed") << run.dump(2);
  EXPECT_EQ(run["progress_ratio"], 1.0);
  ASSERT_EQ(run["phases"].size(), 4u);
  for (const auto& ph : run["phases"]) EXPECT_EQ(ph["state"], "passed") << ph.dump();
  ASSERT_EQ(run["verdicts"].size(), 6u);
  for (const auto& v : run["verdicts"]) EXPECT_TRUE(v["passed"].get<bool>()) << v.dump();
  EXPECT_EQ(run["scenarios"].size(), 6u) << "every scenario sampled";

  const auto gate = body_json(d.call("GET", "/api/v1/runs/" + id + "/gate"));
  EXPECT_EQ(gate["exit_code"], 0) << gate.dump();
  EXPECT_NE(d.call("GET", "/api/v1/runs/" + id + "/gate?format=junit").body.find("<testsuite"), std::string::npos);

  // Metrics: every scenario iterated, no hot-path copy, latencies observed, the run's state.
  for (const char* scenario :
       {"memory_pressure", "fragmentation", "multi_context", "oom", "leak_cycle", "conv2d_steady"}) {
    EXPECT_GT(scrape_one(d, fmt::format("gpusoak_scenario_iterations_total{{gpu=\"0\",scenario=\"{}\"}}", scenario)), 0)
        << scenario;
    EXPECT_EQ(scrape_one(d, fmt::format("gpusoak_hot_path_copies_total{{gpu=\"0\",scenario=\"{}\"}}", scenario)), 0)
        << scenario;
    EXPECT_EQ(scrape_one(d, fmt::format("gpusoak_integrity_failures_total{{gpu=\"0\",scenario=\"{}\"}}", scenario)), 0)
        << scenario;
  }
  const auto latency = scrape(d, "gpusoak_op_latency_seconds_count");
  double conv_ops = 0;
  for (const auto& [series, value] : latency) {
    if (series.find("scenario=\"conv2d_steady\"") != std::string::npos) conv_ops += value;
  }
  EXPECT_GT(conv_ops, 0);
  EXPECT_EQ(scrape_one(d, "gpusoak_run_state{gpu=\"0\",state=\"passed\"}"), 1);
  EXPECT_EQ(scrape_one(d, "gpusoak_run_state{gpu=\"0\",state=\"running\"}"), 0);
  EXPECT_EQ(scrape_one(d, "gpusoak_run_progress_ratio{gpu=\"0\"}"), 1);
  // Every final state's counter exists from the run's start, so the ones it did not end in read 0.
  EXPECT_EQ(scrape_one(d, "gpusoak_runs_finished_total{gpu=\"0\",state=\"passed\"}"), 1);
  EXPECT_EQ(scrape_one(d, "gpusoak_runs_finished_total{gpu=\"0\",state=\"failed\"}"), 0);
  EXPECT_GT(scrape_one(d, "gpusoak_allocations_total{gpu=\"0\"}"), 0);
  EXPECT_GT(scrape_one(d, "gpusoak_oom_events_total{gpu=\"0\",scenario=\"oom\"}"), 0);
  EXPECT_EQ(scrape_one(d, "gpusoak_oom_events_total{gpu=\"0\",scenario=\"oom\"}"),
            scrape_one(d, "gpusoak_oom_recoveries_total{gpu=\"0\",scenario=\"oom\"}"));
  EXPECT_GT(scrape_one(d, "gpusoak_resident_memory_bytes"), 1e6);
  const auto info = scrape(d, "gpusoak_run_info");
  ASSERT_EQ(info.size(), 1u);
  EXPECT_NE(info.begin()->first.find("run=\"" + id + "\""), std::string::npos) << info.begin()->first;
  EXPECT_NE(info.begin()->first.find("renderer=\""), std::string::npos);
  // What the run ran: no mask given to this daemon, this build's commit, the stored plan's hash.
  EXPECT_NE(info.begin()->first.find("mask=\"none\""), std::string::npos) << info.begin()->first;
  EXPECT_NE(info.begin()->first.find("commit=\"" + std::string(gpusoak_commit()) + "\""), std::string::npos)
      << info.begin()->first;
  const auto stored = body_json(d.call("GET", "/api/v1/runs/" + id));
  const std::string plan_hash = stored["provenance"]["plan_sha256"].get<std::string>();
  EXPECT_EQ(plan_hash.size(), 64u);
  EXPECT_NE(info.begin()->first.find("plan_sha256=\"" + plan_hash + "\""), std::string::npos) << info.begin()->first;
  EXPECT_EQ(stored["provenance"]["mask"], "none");
  EXPECT_FALSE(stored["provenance"]["gl_renderer"].is_null());
  EXPECT_EQ(stored["provenance"]["usage_strategies"].size(), 4u);
  // Log lines about the run name it.
  EXPECT_NE(d.log().find("run=" + id + " scenario="), std::string::npos);
}

// checks that gpusoakd --disable coherent masks every context of a run, the worker's and those its
// scenarios make: the smoke plan passes, every latency series with a strategy is on
// persistent_flush (multi_context's own contexts included), none on persistent_coherent
TEST_F(daemon_test, the_daemons_mask_reaches_every_context_of_a_run) {
  test::daemon_process d(dir_ / "state", {"--disable", "coherent", "--budget", "256MiB"});
  const std::string id = start(d, R"({"plan": "smoke", "time_scale": 0.05})");
  const auto run = wait_final(d, id);
  EXPECT_EQ(run["state"], "passed") << run.dump(2);
  std::map<std::string, std::string> strategy_of;  // scenario -> strategy label
  const std::regex labels(R"re(scenario="([a-z_0-9]+)",strategy="([a-z_]+)")re");
  std::size_t series_seen = 0;
  for (const auto& [series, value] : scrape(d, "gpusoak_op_latency_seconds_count")) {
    std::smatch m;
    if (!std::regex_search(series, m, labels)) continue;
    ++series_seen;
    EXPECT_NE(m[2].str(), "persistent_coherent") << series;
    if (m[2].str() != "mixed") strategy_of[m[1].str()] = m[2].str();
  }
  EXPECT_GT(series_seen, 0u);
  for (const char* scenario : {"conv2d_steady", "memory_pressure", "multi_context"}) {
    EXPECT_EQ(strategy_of[scenario], "persistent_flush") << scenario;
  }
}

// checks that a plan naming EGL devices that are not present, or one twice, is a 400 naming each
// such device and how many exist, before anything is stored or exported (one POST with 21
// indices used to add 842 series to /metrics)
TEST_F(daemon_test, devices_not_present_or_listed_twice_are_refused) {
  test::daemon_process d(dir_ / "state");
  const auto present = openable_devices(gpu::context_options{});
  ASSERT_TRUE(present) << present.error().message;
  ASSERT_LT(*present, 200u) << "the plan below names devices 200 to 219 as absent ones";
  // Series labelled by GPU: a run's. The request counters change with every call.
  const auto gpu_series = [&d] {
    std::istringstream lines(d.call("GET", "/metrics").body);
    int n = 0;
    for (std::string line; std::getline(lines, line);) n += line.find("gpu=\"") != std::string::npos ? 1 : 0;
    return n;
  };
  const int series_before = gpu_series();
  std::string plan = short_plan;
  std::string many = "devices: [0";
  for (int i = 200; i < 220; ++i) many += fmt::format(", {}", i);
  plan.replace(plan.find("devices: [0]"), 12, many + "]");
  const auto reply = d.call("POST", "/api/v1/runs", start_body(plan, 0.3));
  ASSERT_EQ(reply.status, 400) << reply.body;
  const auto j = body_json(reply);
  ASSERT_TRUE(j["problems"].is_array()) << reply.body;
  EXPECT_EQ(j["problems"].size(), 20u) << reply.body;
  EXPECT_TRUE(j["problems"][0].get<std::string>().starts_with(
      fmt::format("<request>: devices[1]: EGL device 200 is not present; {} EGL device", *present)))
      << reply.body;
  EXPECT_NE(j["error"].get<std::string>().find("devices[20]: EGL device 219 is not present"), std::string::npos)
      << reply.body;
  // The plan's own validation: a device listed twice is refused before anything runs.
  plan.replace(plan.find(many), many.size(), "devices: [0, 0");
  const auto dup = d.call("POST", "/api/v1/runs", start_body(plan));
  EXPECT_EQ(dup.status, 400) << dup.body;
  EXPECT_NE(body_json(dup)["error"].get<std::string>().find("devices[1]: device 0 is listed twice"), std::string::npos)
      << dup.body;
  EXPECT_TRUE(body_json(d.call("GET", "/api/v1/runs"))["runs"].empty()) << "nothing stored";
  EXPECT_EQ(gpu_series(), series_before) << "no series added";
}

// checks that a plan with typos in its last phase is a 400 naming every typo with its line and
// field path, in the message and as a list, and that no run is stored
TEST_F(daemon_test, plan_with_typos_in_its_last_phase_is_400_listing_every_typo) {
  test::daemon_process d(dir_ / "state");
  const std::string plan = R"(name: typos
sample_interval: 100ms
phases:
  - name: warmup
    duration: 10h
    scenarios:
      - name: conv2d_steady
  - name: churn
    duration: 10h
    scenarios:
      - name: fragmentation
        params: {max_blok: 1MiB}
      - name: multi_context
        params: {contexts: 100000, shapes: ["N99999 C99999 8x8 K8 3x3"]}
)";
  const auto reply = d.call("POST", "/api/v1/runs", start_body(plan));
  ASSERT_EQ(reply.status, 400) << reply.body;
  const auto j = body_json(reply);
  const std::vector<std::string> expected{
      "<request>:12: phases[1].scenarios[0].params.max_blok: unknown parameter; allowed: pool_chunk, max_block, "
      "max_chunks",
      "<request>:14: phases[1].scenarios[1].params.contexts: '100000' is not allowed; use a whole number from 1 to 16",
      "<request>:14: phases[1].scenarios[1].params.shapes: shape 'N99999 C99999 8x8 K8 3x3': input has ",
  };
  ASSERT_TRUE(j["problems"].is_array()) << reply.body;
  ASSERT_EQ(j["problems"].size(), expected.size()) << reply.body;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(j["problems"][i].get<std::string>().starts_with(expected[i])) << j["problems"][i];
    EXPECT_NE(j["error"].get<std::string>().find(expected[i]), std::string::npos) << j["error"];
  }
  EXPECT_TRUE(j["error"].get<std::string>().starts_with("\"plan_yaml\": 3 problems:\n")) << j["error"];
  // gpusoak run --daemon sends the plan and prints the daemon's list: exit 2.
  const auto plan_file = dir_ / "typos.yaml";
  std::ofstream(plan_file) << plan;
  std::ostringstream out, err;
  const std::vector<std::string> args{"run", "--daemon", d.url().text(), "--plan", plan_file.string()};
  EXPECT_EQ(run_cli(args, out, err), 2) << out.str();
  for (const auto& e : expected) EXPECT_NE(err.str().find(e), std::string::npos) << err.str();
  EXPECT_TRUE(body_json(d.call("GET", "/api/v1/runs"))["runs"].empty()) << "nothing stored";
  EXPECT_EQ(body_json(d.call("GET", "/healthz"))["active_runs"].size(), 0u);
}

// checks that stop ends a running run aborted (gate exit 3), and that stopping it again is a 409
TEST_F(daemon_test, stop_aborts_a_running_run) {
  test::daemon_process d(dir_ / "state");
  const std::string id = start(d, start_body(short_plan));
  wait_elapsed(d, id, 0.5);
  const auto stop = d.call("POST", "/api/v1/runs/" + id + "/stop");
  EXPECT_EQ(stop.status, 202) << stop.body;
  const auto run = wait_final(d, id);
  EXPECT_EQ(run["state"], "aborted");
  EXPECT_LT(run["elapsed_seconds"].get<double>(), 6.0);
  EXPECT_EQ(body_json(d.call("GET", "/api/v1/runs/" + id + "/gate"))["exit_code"], 3);
  const auto again = d.call("POST", "/api/v1/runs/" + id + "/stop");
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(scrape_one(d, "gpusoak_runs_finished_total{gpu=\"0\",state=\"aborted\"}"), 1);
}

// checks that kill -9 mid-run loses at most one sample interval: restarted, the daemon resumes
// the run from its last stored sample, says so, keeps every stored sample, and the store is intact
TEST_F(daemon_test, kill_9_mid_run_then_restart_resumes_the_run) {
  const auto state = dir_ / "state";
  std::string id;
  std::vector<sample> before;
  {
    test::daemon_process d(state);
    id = start(d, start_body(short_plan));
    wait_elapsed(d, id, 1.5);
    EXPECT_EQ(d.stop(SIGKILL), 128 + SIGKILL);
    auto store = run_store::open((state / "runs.db").string());
    ASSERT_TRUE(store.has_value());
    before = store->samples(id).value();
    ASSERT_FALSE(before.empty());
  }
  const double last_t = before.back().t_seconds;
  test::daemon_process d(state);
  const auto run = wait_final(d, id);
  EXPECT_EQ(run["state"], "passed") << run.dump(2);
  EXPECT_NE(d.log().find("resuming plan short from t="), std::string::npos) << d.log();

  auto store = run_store::open((state / "runs.db").string());
  ASSERT_TRUE(store.has_value());
  EXPECT_TRUE(store->integrity_check().has_value());
  const auto after = store->samples(id).value();
  ASSERT_GT(after.size(), before.size());
  for (std::size_t i = 0; i < before.size(); ++i) ASSERT_EQ(after[i], before[i]) << "stored sample " << i << " changed";
  EXPECT_GE(after[before.size()].t_seconds, last_t);
  EXPECT_LE(after[before.size()].t_seconds, last_t + 0.1 + 0.5) << "resumed within one interval of the last sample";
  const auto events = store->events(id).value();
  bool resumed = false;
  for (const auto& e : events) resumed = resumed || (e.message.starts_with("resumed at t=") && e.t_seconds == last_t);
  EXPECT_TRUE(resumed) << "a resume event at the last sample's time";
  double max_t = 0;
  for (const auto& s : after) max_t = std::max(max_t, s.t_seconds);
  EXPECT_DOUBLE_EQ(max_t, 6.0);
}

// checks that SIGTERM finishes the step, stores the run as interrupted and exits 0, and that the
// next start resumes it to a pass
TEST_F(daemon_test, sigterm_exits_0_and_the_next_start_resumes) {
  const auto state = dir_ / "state";
  std::string id;
  {
    test::daemon_process d(state);
    id = start(d, start_body(short_plan));
    wait_elapsed(d, id, 1.0);
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(d.stop(SIGTERM), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 20s);
    auto store = run_store::open((state / "runs.db").string());
    ASSERT_TRUE(store.has_value());
    EXPECT_EQ(store->get_run(id).value().state, run_state::interrupted);
  }
  test::daemon_process d(state);
  EXPECT_EQ(wait_final(d, id)["state"], "passed");
}

// checks token auth both ways: POST needs the bearer token, GET stays open; that gpusoakd
// refuses a non-loopback address without a token file; and that it warns about a token file
// every local user can read (only then)
TEST_F(daemon_test, token_auth_both_ways_and_no_open_non_loopback) {
  const auto token_file = dir_ / "token";
  const std::string token = "0123456789abcdef0123456789abcdef";
  std::ofstream(token_file) << token << "\n";
  std::filesystem::permissions(token_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  test::daemon_process d(dir_ / "state", {"--token-file", token_file.string()});
  EXPECT_EQ(d.log().find("readable by every user"), std::string::npos) << d.log();
  {
    const auto shared_file = dir_ / "shared-token";
    std::ofstream(shared_file) << token << "\n";
    std::filesystem::permissions(shared_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                                                  std::filesystem::perms::group_read |
                                                  std::filesystem::perms::others_read);
    test::daemon_process shared(dir_ / "state-shared", {"--token-file", shared_file.string()});
    EXPECT_NE(shared.log().find("readable by every user"), std::string::npos) << shared.log();
  }
  const std::string body = start_body(short_plan);
  EXPECT_EQ(d.call("POST", "/api/v1/runs", body).status, 401);
  EXPECT_EQ(d.call("POST", "/api/v1/runs", body, std::string("wrong-token-wrong-token")).status, 401);
  EXPECT_EQ(d.call("GET", "/api/v1/runs").status, 200);
  EXPECT_EQ(d.call("GET", "/metrics").status, 200);
  const std::string id = start(d, body, token);
  EXPECT_EQ(d.call("POST", "/api/v1/runs/" + id + "/stop").status, 401);
  EXPECT_EQ(d.call("POST", "/api/v1/runs/" + id + "/stop", "", token).status, 202);
  EXPECT_EQ(wait_final(d, id)["state"], "aborted");

  const auto log = dir_ / "refused.log";
  EXPECT_EQ(test::daemon_process::run_to_exit({"--listen", "0.0.0.0:0", "--state-dir", (dir_ / "s2").string()}, log),
            2);
  std::ifstream file(log);
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_NE(text.str().find("--token-file"), std::string::npos) << text.str();
  std::ofstream(dir_ / "short-token") << "abc\n";
  EXPECT_EQ(test::daemon_process::run_to_exit(
                {"--token-file", (dir_ / "short-token").string(), "--state-dir", (dir_ / "s3").string()}, log),
            2);
}

// checks that gpusoakd --help names the program as it is run, exits 0 and lists its flags
TEST_F(daemon_test, help_names_gpusoakd) {
  const auto log = dir_ / "help.log";
  EXPECT_EQ(test::daemon_process::run_to_exit({"--help"}, log), 0);
  std::ifstream file(log);
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_NE(text.str().find("Usage: gpusoakd [flags]"), std::string::npos) << text.str();
  EXPECT_EQ(text.str().find("gpusoak gpusoakd"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("--listen"), std::string::npos) << text.str();
}

// checks the CLI against a running daemon: status before any run, run --detach, status, stop, run to the end with the
// gate's table and JUnit, gate --daemon, and a clear error when no daemon listens
TEST_F(daemon_test, cli_run_status_stop_and_gate_against_the_daemon) {
  test::daemon_process d(dir_ / "state");
  const std::string url = d.url().text();
  const auto plan_file = dir_ / "short.yaml";
  std::ofstream(plan_file) << short_plan;
  auto cli = [](std::vector<std::string> args, std::string* out_text = nullptr) {
    std::ostringstream out, err;
    const int code = run_cli(args, out, err);
    if (out_text) *out_text = out.str() + err.str();
    return code;
  };
  std::string out;
  EXPECT_EQ(cli({"status", "--daemon", url}, &out), 0);
  EXPECT_NE(out.find("no runs on " + url + " yet"), std::string::npos) << out;
  EXPECT_EQ(cli({"run", "--daemon", url, "--in-process", "--plan", plan_file.string()}, &out), 2);
  EXPECT_NE(out.find("--in-process and a daemon"), std::string::npos) << out;
  ASSERT_EQ(cli({"run", "--daemon", url, "--plan", plan_file.string(), "--detach"}, &out), 0) << out;
  const std::string id = out.substr(0, out.find('\n'));
  ASSERT_TRUE(std::regex_match(id, std::regex("r-\\d{8}-\\d{4}"))) << out;
  wait_elapsed(d, id, 0.3);
  EXPECT_EQ(cli({"status", "--daemon", url, id}, &out), 0);
  EXPECT_NE(out.find("conv2d_steady"), std::string::npos) << out;
  EXPECT_EQ(cli({"stop", "--daemon", url, id}, &out), 0) << out;
  wait_final(d, id);
  EXPECT_EQ(cli({"gate", id, "--daemon", url}, &out), 3) << out;

  const auto junit = dir_ / "gate.xml";
  EXPECT_EQ(cli({"run", "--daemon", url, "--plan", plan_file.string(), "--time-scale", "0.5", "--junit", junit.string(),
                 "--poll", "0.2"},
                &out),
            0)
      << out;
  EXPECT_NE(out.find("PASS"), std::string::npos) << out;
  EXPECT_NE(out.find("phase 2 frag"), std::string::npos) << "progress lines: " << out;
  std::ifstream xml(junit);
  std::stringstream xml_text;
  xml_text << xml.rdbuf();
  EXPECT_NE(xml_text.str().find("testcase"), std::string::npos);

  EXPECT_EQ(cli({"run", "--daemon", url, "--plan", "smoke;rm"}, &out), 2);
  EXPECT_NE(out.find("not a plan name"), std::string::npos) << out;
  EXPECT_EQ(cli({"status", "--daemon", "http://127.0.0.1:1", id}, &out), 2);
  EXPECT_NE(out.find("is it running?"), std::string::npos) << out;
  EXPECT_EQ(cli({"run", "--daemon", "ftp://x", "--plan", "smoke"}, &out), 2);
  EXPECT_NE(out.find("http://HOST"), std::string::npos) << out;
}

// checks GET /api/v1/runs/{id}/report in each format against the report built locally from the
// daemon's store (one implementation, same document), its 400 and 404, and `gpusoak report
// --daemon` printing and writing the same documents
TEST_F(daemon_test, report_endpoint_in_each_format_and_the_cli_against_it) {
  test::daemon_process d(dir_ / "state");
  const std::string id = start(d, start_body(short_plan, 0.2));
  ASSERT_EQ(wait_final(d, id)["state"], "passed");

  auto store = run_store::open((dir_ / "state" / "runs.db").string());
  ASSERT_TRUE(store.has_value());
  const auto local = load_report(*store, id);
  ASSERT_TRUE(local.has_value()) << local.error().message;
  const std::map<std::string, std::pair<std::string, std::string>> expected{
      {"json", {report_json(*local), "application/json"}},
      {"text", {format_report_text(*local), "text/plain; charset=utf-8"}},
      {"html", {report_html(*local), "text/html; charset=utf-8"}},
  };
  for (const auto& [format, want] : expected) {
    const auto reply = d.call("GET", fmt::format("/api/v1/runs/{}/report?format={}", id, format));
    EXPECT_EQ(reply.status, 200) << format << ": " << reply.body.substr(0, 200);
    EXPECT_EQ(reply.body, want.first) << "format " << format << " differs from the report built from the store";
  }
  EXPECT_EQ(d.call("GET", "/api/v1/runs/" + id + "/report").body, expected.at("json").first) << "json by default";
  EXPECT_EQ(body_json(d.call("GET", "/api/v1/runs/" + id + "/report"))["run"]["id"], id);
  EXPECT_NE(expected.at("html").first.find(id), std::string::npos);

  const auto bad_format = d.call("GET", "/api/v1/runs/" + id + "/report?format=pdf");
  EXPECT_EQ(bad_format.status, 400);
  EXPECT_NE(body_json(bad_format).value("error", "").find("'pdf' is not one of json, text, html"), std::string::npos)
      << bad_format.body;
  const auto unknown = d.call("GET", "/api/v1/runs/r-20000101-0001/report?format=text");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(body_json(unknown).value("error", "").find("no run 'r-20000101-0001'"), std::string::npos) << unknown.body;
  EXPECT_EQ(d.call("POST", "/api/v1/runs/" + id + "/report").status, 405);

  auto cli = [](std::vector<std::string> args, std::string* out_text, std::string* err_text = nullptr) {
    std::ostringstream out, err;
    const int code = run_cli(args, out, err);
    *out_text = out.str();
    if (err_text) *err_text = err.str();
    return code;
  };
  const std::string url = d.url().text();
  std::string out, err;
  EXPECT_EQ(cli({"report", id, "--daemon", url}, &out), 0);
  EXPECT_EQ(out, expected.at("text").first);
  EXPECT_EQ(cli({"report", id, "--daemon", url, "--json"}, &out), 0);
  EXPECT_EQ(out, expected.at("json").first);
  const auto html_file = dir_ / "report.html";
  EXPECT_EQ(cli({"report", id, "--daemon", url, "--html", html_file.string()}, &out), 0) << out;
  std::ifstream html(html_file, std::ios::binary);
  std::stringstream html_text;
  html_text << html.rdbuf();
  EXPECT_EQ(html_text.str(), expected.at("html").first);

  EXPECT_EQ(cli({"report", "r-20000101-0001", "--daemon", url}, &out, &err), 2);
  EXPECT_NE(err.find("answered 404: no run 'r-20000101-0001'"), std::string::npos) << err;
  EXPECT_EQ(cli({"report", id + "?format=pdf", "--daemon", url}, &out, &err), 2);
  EXPECT_NE(err.find("is not a run id"), std::string::npos) << err;
  EXPECT_EQ(cli({"report", id, "--daemon", url, "--db", (dir_ / "state" / "runs.db").string()}, &out, &err), 2);
  EXPECT_NE(err.find("--db and --daemon cannot be combined"), std::string::npos) << err;
  EXPECT_EQ(cli({"report", id, "--daemon", "http://127.0.0.1:1"}, &out, &err), 2);
  EXPECT_NE(err.find("is it running?"), std::string::npos) << err;
}

// checks that a sanitizer report in a child's log fails the test, each kind of banner, and that a
// clean log does not: the sanitizer stages rely on it to see gpusoakd's reports, which go to its
// log and not to the test's output
TEST(daemon_log_check, a_sanitizer_report_in_the_log_fails_the_test) {
  for (const std::string report :
       {"==41==ERROR: AddressSanitizer: heap-use-after-free on address 0x6020", "==41==ERROR: LeakSanitizer: detected",
        "WARNING: ThreadSanitizer: data race (pid=41)", "run_store.cpp:12:3: runtime error: signed integer overflow"}) {
    EXPECT_NONFATAL_FAILURE(test::expect_no_sanitizer_report("listening\n" + report + "\n#0 0x1 in f\n", "gpusoakd"),
                            report);
  }
  test::expect_no_sanitizer_report("run=- scenario=- context=-: gpusoakd stopped\nAddressSanitizer is off\n",
                                   "gpusoakd");
}

}  // namespace
}  // namespace gpusoak::harness
