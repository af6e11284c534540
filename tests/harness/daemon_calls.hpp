// API calls the daemon tests repeat: a run's JSON, polling it to an end or to a condition, and
// reading /metrics.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "daemon_process.hpp"

namespace gpusoak::test {

inline nlohmann::json body_json(const harness::http_reply& r) {
  return nlohmann::json::parse(r.body, nullptr, false);
}

inline nlohmann::json get_run(const daemon_process& d, const std::string& id) {
  const auto reply = d.call("GET", "/api/v1/runs/" + id);
  EXPECT_EQ(reply.status, 200) << reply.body;
  return body_json(reply);
}

// Polls the run until `done` holds for its JSON (or `limit` passes: a test failure); returns the
// last JSON read.
inline nlohmann::json wait_run(const daemon_process& d, const std::string& id,
                               const std::function<bool(const nlohmann::json&)>& done, std::chrono::seconds limit,
                               const std::string& what) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  nlohmann::json run;
  while (std::chrono::steady_clock::now() < deadline) {
    run = get_run(d, id);
    if (done(run)) return run;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "run " << id << ": " << what << " not seen in " << limit.count() << " s: " << run.dump();
  return run;
}

inline bool is_final_state(const std::string& state) {
  return state == "passed" || state == "failed" || state == "aborted" || state == "could_not_run";
}

inline nlohmann::json wait_final(const daemon_process& d, const std::string& id,
                                 std::chrono::seconds limit = std::chrono::seconds(120)) {
  return wait_run(
      d, id, [](const nlohmann::json& run) { return is_final_state(run.value("state", "")); }, limit, "a final state");
}

// Samples of a metric from /metrics' text exposition: "name{labels}" -> value.
inline std::map<std::string, double> scrape(const daemon_process& d, const std::string& name) {
  const auto reply = d.call("GET", "/metrics");
  EXPECT_EQ(reply.status, 200);
  std::map<std::string, double> out;
  std::istringstream lines(reply.body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    const std::string series = line.substr(0, space);
    if (series == name || series.starts_with(name + "{")) out[series] = std::stod(line.substr(space + 1));
  }
  return out;
}

// One series, "name" or "name{labels}" exactly as exposed; a test failure and -1 when absent.
inline double scrape_one(const daemon_process& d, const std::string& series) {
  const auto all = scrape(d, series.substr(0, series.find('{')));
  const auto it = all.find(series);
  EXPECT_NE(it, all.end()) << series << " not in /metrics";
  return it == all.end() ? -1 : it->second;
}

}  // namespace gpusoak::test
