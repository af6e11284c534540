// `gpusoak fleet` as users run it: the real CLI binary against real gpusoakd processes on
// loopback, a closed port standing for a dead machine, and Debian's prometheus scraping the same
// targets file. Every CLI call and child has a deadline, and every child dies with the test.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "daemon_process.hpp"
#include "gpusoak/harness/commands.hpp"
#include "gpusoak/harness/fleet_targets.hpp"
#include "prometheus_process.hpp"
#include "temp_dir.hpp"
#include "test_plans.hpp"

namespace gpusoak::harness {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct cli_result {
  int code = -1;
  std::string output;  // stdout and stderr together
};

std::string read_file(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// `short_plan` renamed, with extra threshold lines appended.
std::string plan_named(const std::string& name, const std::string& extra_thresholds = "") {
  std::string plan = test::short_plan;
  plan.replace(0, plan.find('\n'), "name: " + name);
  return plan + extra_thresholds;
}

class fleet_test : public ::testing::Test {
 protected:
  // Runs the gpusoak binary to its end (at most `limit`; killed and failed after that).
  cli_result gpusoak(std::vector<std::string> args, std::chrono::seconds limit = 120s) {
    args.insert(args.begin(), GPUSOAK_BINARY);
    const auto log = dir_ / fmt::format("cli-{}.log", ++calls_);
    test::child_process cli(args, log);
    const auto code = cli.wait(limit);
    EXPECT_TRUE(code.has_value()) << "gpusoak did not end within " << limit.count() << " s:\n" << cli.log();
    return {code.value_or(-1), cli.log()};
  }

  // The same in this process, for errors found before any network talk.
  static cli_result in_process(const std::vector<std::string>& args) {
    std::ostringstream out, err;
    const int code = run_cli(args, out, err);
    return {code, out.str() + err.str()};
  }

  std::filesystem::path write(const std::string& name, const std::string& text) {
    const auto path = dir_ / name;
    std::ofstream(path) << text;
    return path;
  }

  static std::string address(const test::daemon_process& d) { return d.url().host + ":" + d.url().port; }

  test::temp_dir dir_{"gpusoak-fleet"};
  int calls_ = 0;
};

// checks the main path: two daemons pass, a closed port is reported unreachable without stopping
// them, progress lines name machine, run, phase and state, exit 2, and JUnit and JSON hold every row
TEST_F(fleet_test, two_machines_pass_and_the_unreachable_one_is_reported) {
  test::daemon_process a(dir_ / "a"), b(dir_ / "b");
  const std::string dead = fmt::format("127.0.0.1:{}", test::free_port());
  const auto targets = write("targets.yml", fmt::format("# the lab\n- targets:\n    - {}\n    - {}\n  labels:\n"
                                                        "    rack: a\n- targets: [\"{}\"]\n  labels: {{rack: b}}\n",
                                                        address(a), address(b), dead));
  const auto plan = write("short.yaml", test::short_plan);
  const auto junit = dir_ / "fleet.xml";
  const auto json_file = dir_ / "fleet.json";
  const auto r = gpusoak({"fleet", "--targets", targets.string(), "--plan", plan.string(), "--time-scale", "0.5",
                          "--poll", "0.2", "--junit", junit.string(), "--json", json_file.string()});
  EXPECT_EQ(r.code, 2) << r.output;
  for (const auto* d : {&a, &b}) {
    EXPECT_TRUE(std::regex_search(r.output, std::regex(address(*d) + "  r-\\d{8}-\\d{4}  gpu 0  phase 2 frag  +\\d+%  "
                                                                     "running")))
        << "a progress line for " << address(*d) << ":\n"
        << r.output;
    EXPECT_TRUE(std::regex_search(r.output, std::regex(address(*d) + " +r-\\d{8}-\\d{4} +0  ✓ passed +gate: all 3")))
        << r.output;
    const auto runs = json::parse(d->call("GET", "/api/v1/runs").body);
    ASSERT_EQ(runs["runs"].size(), 1u);
    EXPECT_EQ(runs["runs"][0]["state"], "passed");
  }
  EXPECT_TRUE(std::regex_search(r.output, std::regex(dead + " +- +-  \\? unreachable +no answer from /healthz")))
      << r.output;
  EXPECT_NE(r.output.find("2 passed, 0 failed, 0 aborted, 1 could not run (1 unreachable, 0 refused) -> COULD NOT "
                          "RUN (exit 2)"),
            std::string::npos)
      << r.output;

  const std::string xml = read_file(junit);
  EXPECT_NE(xml.find("tests=\"3\" failures=\"0\" errors=\"1\""), std::string::npos) << xml;
  EXPECT_EQ(count_of(xml, "<testcase "), 3u) << xml;
  EXPECT_NE(xml.find("classname=\"gpusoak.fleet." + dead + "\" name=\"(no run)\"><error"), std::string::npos) << xml;
  const auto j = json::parse(read_file(json_file));
  EXPECT_EQ(j["exit_code"], 2);
  ASSERT_EQ(j["runs"].size(), 3u);
  EXPECT_EQ(j["runs"][0]["result"], "passed");
  EXPECT_EQ(j["runs"][0]["labels"]["rack"], "a");
  EXPECT_EQ(j["runs"][2]["result"], "unreachable");
  EXPECT_TRUE(j["runs"][2]["run_id"].is_null());
}

// checks that a plan name resolves on each daemon: the machine whose copy of the plan has a
// threshold that cannot hold fails, the fleet fails (exit 1) and the row names the threshold
TEST_F(fleet_test, a_failing_threshold_on_one_machine_fails_the_fleet) {
  std::filesystem::create_directories(dir_ / "plans-a");
  std::filesystem::create_directories(dir_ / "plans-b");
  std::ofstream(dir_ / "plans-a" / "fleetcheck.yaml") << plan_named("fleetcheck");
  std::ofstream(dir_ / "plans-b" / "fleetcheck.yaml")
      << plan_named("fleetcheck", "  - \"copies_total{path=\\\"hot\\\"} > 0\"\n");
  test::daemon_process a(dir_ / "a", {"--plans-dir", (dir_ / "plans-a").string()});
  test::daemon_process b(dir_ / "b", {"--plans-dir", (dir_ / "plans-b").string()});
  // JSON this time: file_sd accepts both, and so must we.
  const auto targets = write("targets.json", json::array({{{"targets", {address(a), address(b)}}}}).dump());
  const auto junit = dir_ / "fleet.xml";
  const auto r = gpusoak({"fleet", "--targets", targets.string(), "--plan", "fleetcheck", "--time-scale", "0.5",
                          "--poll", "0.2", "--junit", junit.string()});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(std::regex_search(r.output, std::regex(address(a) + " +r-\\S+ +0  ✓ passed"))) << r.output;
  EXPECT_TRUE(std::regex_search(r.output, std::regex(address(b) + " +r-\\S+ +0  ✗ failed +gate: 1 of 4 thresholds "
                                                                  "failed: copies_total\\{path=\"hot\"\\} > 0 "
                                                                  "\\(observed 0\\)")))
      << r.output;
  EXPECT_NE(r.output.find("-> FAIL (exit 1)"), std::string::npos) << r.output;
  const std::string xml = read_file(junit);
  EXPECT_NE(xml.find("tests=\"2\" failures=\"1\" errors=\"0\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure message=\"failed: gate: 1 of 4"), std::string::npos) << xml;
}

// checks a machine busy with another run: refused with the daemon's 409 message, the other passes,
// exit 2
TEST_F(fleet_test, a_busy_machine_is_refused_with_the_daemons_message) {
  test::daemon_process a(dir_ / "a"), b(dir_ / "b");
  const auto busy = b.call("POST", "/api/v1/runs", json{{"plan_yaml", test::short_plan}}.dump());
  ASSERT_EQ(busy.status, 201) << busy.body;
  const std::string busy_id = json::parse(busy.body)["id"];
  const auto targets = write("targets.yml", fmt::format("- targets: [{}, {}]\n", address(a), address(b)));
  const auto plan = write("short.yaml", test::short_plan);
  const auto r = gpusoak(
      {"fleet", "--targets", targets.string(), "--plan", plan.string(), "--time-scale", "0.5", "--poll", "0.2"});
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(std::regex_search(r.output, std::regex(address(a) + " +r-\\S+ +0  ✓ passed"))) << r.output;
  EXPECT_TRUE(std::regex_search(r.output, std::regex(address(b) + " +- +-  \\? refused +http://" + address(b) +
                                                     " refused the run \\(409\\): GPU 0 is busy with run " + busy_id)))
      << r.output;
  EXPECT_EQ(b.call("POST", "/api/v1/runs/" + busy_id + "/stop").status, 202);
}

// checks that a run stopped mid-way through the API ends the fleet aborted (exit 3) while the
// other machine's run passes, and that --detach prints the run ids and returns at once
TEST_F(fleet_test, a_run_stopped_mid_way_aborts_the_fleet_and_detach_returns_at_once) {
  test::daemon_process a(dir_ / "a"), b(dir_ / "b");
  const auto targets = write("targets.yml", fmt::format("- targets: [{}, {}]\n", address(a), address(b)));
  const auto plan = write("short.yaml", test::short_plan);
  test::child_process fleet(
      {GPUSOAK_BINARY, "fleet", "--targets", targets.string(), "--plan", plan.string(), "--poll", "0.2"},
      dir_ / "fleet.log");
  // Stop b's run once it is under way.
  std::string id;
  for (auto deadline = std::chrono::steady_clock::now() + 60s; std::chrono::steady_clock::now() < deadline;) {
    const auto health = json::parse(b.call("GET", "/healthz").body);
    if (!health["active_runs"].empty()) {
      id = health["active_runs"][0]["id"];
      if (json::parse(b.call("GET", "/api/v1/runs/" + id).body).value("elapsed_seconds", 0.0) >= 0.5) break;
    }
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_FALSE(id.empty()) << fleet.log();
  EXPECT_EQ(b.call("POST", "/api/v1/runs/" + id + "/stop").status, 202);
  const auto code = fleet.wait(120s);
  ASSERT_TRUE(code.has_value()) << fleet.log();
  EXPECT_EQ(*code, 3) << fleet.log();
  EXPECT_TRUE(std::regex_search(fleet.log(), std::regex(address(a) + " +r-\\S+ +0  ✓ passed"))) << fleet.log();
  EXPECT_TRUE(
      std::regex_search(fleet.log(), std::regex(address(b) + " +" + id + " +0  \\? aborted +stopped on request")))
      << fleet.log();
  EXPECT_NE(fleet.log().find("-> ABORTED (exit 3)"), std::string::npos) << fleet.log();

  const auto t0 = std::chrono::steady_clock::now();
  const auto r = gpusoak({"fleet", "--targets", targets.string(), "--plan", plan.string(), "--detach"}, 30s);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s) << "--detach must not follow the 6 s runs";
  for (const auto* d : {&a, &b}) {
    const auto health = json::parse(d->call("GET", "/healthz").body);
    ASSERT_EQ(health["active_runs"].size(), 1u) << r.output;
    const std::string started = health["active_runs"][0]["id"];
    EXPECT_NE(r.output.find(address(*d) + "  " + started + "  gpu 0  started"), std::string::npos) << r.output;
    EXPECT_EQ(d->call("POST", "/api/v1/runs/" + started + "/stop").status, 202);
  }
}

// checks bad targets files and flags: exit 2 with a message naming the file, line and field or
// the flag; and that the shipped example targets file parses
TEST_F(fleet_test, bad_targets_files_and_flags_exit_2_naming_the_problem) {
  struct bad_file {
    std::string text, message;
  };
  const std::vector<bad_file> files{
      {"targets: [\"a:1\"]\n", ":1: the top level must be a list of target groups"},
      {"- labels: {rack: a}\n", ":1: entry 1 has no `targets` list"},
      {"- targets: [lab-gpu-01]\n", ":1: target 'lab-gpu-01' is not host:port (the port is required"},
      {"- targets:\n    - a:1\n    - a:1\n", ":3: target 'a:1' is listed twice"},
      {"- targets: [\"a:1\"]\n  labels: {1rack: a}\n", ":2: label name '1rack' is not a Prometheus label name"},
      {"- targets: [\"a:1\"]\n  labels: [rack]\n", ":2: `labels` must be a map"},
      {"- targets: [\"a:1\"]\n  lables: {rack: a}\n", ":2: unknown key 'lables' in a target group"},
      {"[{\"targets\": [\"a:99999\"]}]", ":1: target 'a:99999' is not host:port"},
      {"- targets: []\n", ":1: `targets` must be a non-empty list"},
      {"- targets: [\"a:1\"\n", "not YAML or JSON"},
      {"- \"a:1\"\n", ":1: entry 1 must be a map with a `targets` list"},
      {"", ":1: the file lists no targets"},
  };
  for (const auto& bad : files) {
    const auto path = write("bad.yml", bad.text);
    const auto r = in_process({"fleet", "--targets", path.string(), "--plan", "smoke"});
    EXPECT_EQ(r.code, 2) << bad.text;
    EXPECT_NE(r.output.find("gpusoak fleet: " + path.string() + ":"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(bad.message), std::string::npos) << "for:\n" << bad.text << "got: " << r.output;
  }
  const auto good = write("good.yml", "- targets: [\"127.0.0.1:1\"]\n").string();
  struct bad_flags {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<bad_flags> flags{
      {{"fleet", "--plan", "smoke"}, "missing --targets FILE"},
      {{"fleet", "--targets", good}, "missing --plan"},
      {{"fleet", "--targets", (dir_ / "none.yml").string(), "--plan", "smoke"}, "cannot read the file"},
      {{"fleet", "--targets", good, "--plan", "smoke", "--promql", "up"}, "--promql needs --prometheus URL"},
      {{"fleet", "--targets", good, "--plan", "smoke", "--prometheus", "http://p:9090"}, "at least one --promql"},
      {{"fleet", "--targets", good, "--plan", "smoke", "--prometheus", "ftp://p", "--promql", "up"},
       "--prometheus 'ftp://p'"},
      {{"fleet", "--targets", good, "--plan", "smoke", "--detach", "--junit", "x.xml"}, "--junit needs the runs' end"},
      {{"fleet", "--targets", good, "--plan", "smoke", "--poll", "0"}, "--poll '0'"},
      {{"fleet", "--targets", good, "--plan", "smoke", "--time-scale", "-1"}, "--time-scale '-1'"},
      {{"fleet", "--targets", good, "--plan", (dir_ / "none.yaml").string()}, "cannot read the file"},
      {{"fleet", "--targets", good, "--plan", "smoke", "--token-file", (dir_ / "none").string()}, "--token-file"},
      {{"fleet", "--targets", good, "--plan", "smoke", "--bogus"}, "unknown flag '--bogus'"},
  };
  for (const auto& bad : flags) {
    const auto r = in_process(bad.args);
    EXPECT_EQ(r.code, 2) << bad.message;
    EXPECT_NE(r.output.find(bad.message), std::string::npos) << r.output;
  }
  const auto help = in_process({"fleet", "--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.output.find("--promql EXPR"), std::string::npos) << help.output;
  EXPECT_NE(in_process({"--help"}).output.find("fleet "), std::string::npos);

  auto shipped = load_fleet_targets(GPUSOAK_SOURCE_DIR "/deploy/prometheus/targets/gpusoak-lab.yml");
  ASSERT_TRUE(shipped.has_value()) << shipped.error().message;
  ASSERT_EQ(shipped->size(), 3u);
  EXPECT_EQ((*shipped)[0].address, "lab-gpu-01.example.net:9464");
  EXPECT_EQ((*shipped)[2].labels.at("rack"), "b");
  EXPECT_EQ((*shipped)[2].url.port, "9464");
}

// checks the PromQL gate on a real Prometheus scraping both daemons through the same targets
// file: expressions that hold pass (exit 0, after waiting for the runs' final scrape); an empty
// result and a zero value fail (exit 1); a bad expression is reported as not evaluated
TEST_F(fleet_test, promql_checks_on_a_real_prometheus) {
  test::daemon_process a(dir_ / "a"), b(dir_ / "b");
  const auto targets = write("targets.yml", fmt::format("- targets: [{}, {}]\n", address(a), address(b)));
  test::prometheus_process prometheus(dir_ / "prometheus", targets);
  const auto plan = write("short.yaml", test::short_plan);
  const std::string both_passed = "count(gpusoak_run_state{job=\"gpusoak\",state=\"passed\"} == 1) == bool 2";
  const std::string no_integrity_failure = "max(gpusoak_integrity_failures_total) == bool 0";
  auto r =
      gpusoak({"fleet", "--targets", targets.string(), "--plan", plan.string(), "--time-scale", "0.5", "--poll", "0.2",
               "--prometheus", prometheus.url(), "--promql", both_passed, "--promql", no_integrity_failure});
  EXPECT_EQ(r.code, 0) << r.output << "\nprometheus:\n" << prometheus.log();
  EXPECT_NE(r.output.find("✓ passed  " + both_passed + "\n      1 sample(s), all non-zero: 1"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("PromQL 2 of 2 passed -> PASS (exit 0)"), std::string::npos) << r.output;

  const auto junit = dir_ / "fleet.xml";
  r = gpusoak({"fleet",
               "--targets",
               targets.string(),
               "--plan",
               plan.string(),
               "--time-scale",
               "0.5",
               "--poll",
               "0.2",
               "--prometheus",
               prometheus.url() + "/",
               "--promql",
               no_integrity_failure,
               "--promql",
               "gpusoak_run_progress_ratio > 1",
               "--promql",
               "max(gpusoak_integrity_failures_total) == bool 1",
               "--promql",
               "sum(",
               "--junit",
               junit.string()});
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("✓ passed  " + no_integrity_failure), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("✗ failed  gpusoak_run_progress_ratio > 1\n      no samples"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("✗ failed  max(gpusoak_integrity_failures_total) == bool 1\n      1 of 1 sample(s) zero"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("? error   sum(\n      Prometheus answered 400"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("PromQL 1 of 4 passed -> FAIL (exit 1)"), std::string::npos) << r.output;
  const std::string xml = read_file(junit);
  EXPECT_NE(xml.find("tests=\"6\" failures=\"2\" errors=\"1\""), std::string::npos) << xml;
  EXPECT_EQ(count_of(xml, "classname=\"gpusoak.fleet.promql\""), 4u) << xml;
}

}  // namespace
}  // namespace gpusoak::harness
