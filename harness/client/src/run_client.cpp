#include "gpusoak/harness/run_client.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "gpusoak/harness/exit_codes.hpp"
#include "gpusoak/harness/run_model.hpp"

namespace gpusoak::harness::detail {

using nlohmann::json;

std::string error_text(const http_reply& reply) {
  const auto j = json::parse(reply.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) return j["error"].get<std::string>();
  return reply.body;
}

int exit_for_state(std::string_view state) {
  const auto parsed = parse_run_state(state);
  return parsed ? exit_code_for(*parsed) : exit_could_not_run;
}

bool is_final(std::string_view state) {
  const auto parsed = parse_run_state(state);
  return parsed && harness::is_final(*parsed);
}

bool names_a_file(const std::string& plan) {
  return plan.find('/') != std::string::npos || plan.ends_with(".yaml") || plan.ends_with(".yml");
}

result<std::string> start_request_body(const std::string& plan, const std::optional<std::string>& time_scale) {
  json request;
  if (names_a_file(plan)) {
    std::ifstream file(plan, std::ios::binary);
    std::ostringstream text;
    if (!file || !(text << file.rdbuf())) {
      return make_error(error_kind::validation, fmt::format("--plan '{}': cannot read the file", plan));
    }
    request["plan_yaml"] = text.str();
  } else {
    request["plan"] = plan;
  }
  if (time_scale) {
    char* end = nullptr;
    const double scale = std::strtod(time_scale->c_str(), &end);
    if (time_scale->empty() || end != time_scale->c_str() + time_scale->size() || !(scale > 0)) {
      return make_error(error_kind::validation,
                        fmt::format("--time-scale '{}' is not a number > 0 (e.g. 0.25)", *time_scale));
    }
    request["time_scale"] = scale;
  }
  return request.dump();
}

result<std::chrono::milliseconds> parse_seconds(std::string_view flag, const std::optional<std::string>& text,
                                                double fallback) {
  double seconds = fallback;
  if (text) {
    char* end = nullptr;
    seconds = std::strtod(text->c_str(), &end);
    if (text->empty() || end != text->c_str() + text->size() || !(seconds > 0) || seconds > 3600) {
      return make_error(error_kind::validation,
                        fmt::format("--{} '{}' is not a number of seconds > 0 (at most 3600)", flag, *text));
    }
  }
  return std::chrono::milliseconds(std::max<long>(1, static_cast<long>(seconds * 1000)));
}

result<json> get_json(const daemon_url& url, const std::string& target, std::chrono::seconds timeout) {
  GPUSOAK_TRY_ASSIGN(auto reply, http_call(url, "GET", target, {}, std::nullopt, timeout));
  if (reply.status != 200) {
    return make_error(error_kind_of_status(reply.status),
                      fmt::format("{} answered {}: {}", url.text(), reply.status, error_text(reply)));
  }
  auto j = json::parse(reply.body, nullptr, false);
  if (j.is_discarded()) {
    return make_error(error_kind::internal,
                      fmt::format("{}{} answered with a body that is not JSON", url.text(), target));
  }
  return j;
}

result<std::vector<started_run>> start_runs(const daemon_url& url, const std::string& body,
                                            const std::optional<std::string>& token) {
  GPUSOAK_TRY_ASSIGN(auto reply, http_call(url, "POST", "/api/v1/runs", body, token));
  if (reply.status != 201) {
    return make_error(error_kind_of_status(reply.status),
                      fmt::format("{} refused the run ({}): {}", url.text(), reply.status, error_text(reply)));
  }
  const auto started = json::parse(reply.body, nullptr, false);
  std::vector<started_run> runs;
  if (started.is_object() && started.contains("runs") && started["runs"].is_array()) {
    for (const auto& run : started["runs"]) {
      if (run.is_object() && run.contains("id") && run["id"].is_string()) {
        runs.push_back({.id = run["id"].get<std::string>(), .gpu = run.value("gpu", 0)});
      }
    }
  }
  if (runs.empty()) {
    return make_error(error_kind::internal, fmt::format("{}: the daemon's answer names no run", url.text()));
  }
  return runs;
}

std::string phase_text(const json& run) {
  if (run.contains("phase") && run["phase"].is_object()) {
    // A phase's name arrives with its first step; until then the index alone.
    const std::string name = run["phase"].value("name", std::string());
    return fmt::format("phase {}{}{}", run["phase"].value("index", 0) + 1, name.empty() ? "" : " ", name);
  }
  return is_final(run.value("state", "")) ? "-" : "starting";
}

std::string progress_line(const json& run) {
  return fmt::format("{}  {}  {:>5.1f}%  {:.1f}s/{:.1f}s  samples {}  events {}  {}", run.value("id", ""),
                     phase_text(run), 100.0 * run.value("progress_ratio", 0.0), run.value("elapsed_seconds", 0.0),
                     run.value("plan_seconds", 0.0), run.value("samples", 0), run.value("events", 0),
                     run.value("state", ""));
}

}  // namespace gpusoak::harness::detail
