#include "gpusoak/harness/promql_check.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace gpusoak::harness {
namespace {

using nlohmann::json;

// Prometheus writes sample values as strings ("1", "NaN", "+Inf").
std::optional<double> sample_value(const json& pair) {
  if (!pair.is_array() || pair.size() != 2 || !pair[1].is_string()) return std::nullopt;
  const std::string text = pair[1].get<std::string>();
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size()) return std::nullopt;
  return value;
}

std::string labels_text(const std::map<std::string, std::string>& labels) {
  std::string text;
  for (const auto& [name, value] : labels) {
    text += fmt::format("{}{}=\"{}\"", text.empty() ? "" : ",", name, value);
  }
  return "{" + text + "}";
}

}  // namespace

result<prometheus_server> parse_prometheus_url(std::string_view url) {
  auto bad = [&] {
    return make_error(
        error_kind::validation,
        fmt::format("--prometheus '{}': use http://HOST[:PORT][/PREFIX], e.g. http://prometheus.lab:9090", url));
  };
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme)) return bad();
  std::string_view rest = url.substr(scheme.size());
  while (rest.ends_with('/')) rest.remove_suffix(1);
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  const std::string prefix = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  if (prefix.find_first_of("?#") != std::string::npos) return bad();
  auto server = parse_daemon_url(fmt::format("http://{}", authority));
  if (!server) return bad();
  // parse_daemon_url defaults to gpusoakd's port; a Prometheus URL without one means port 80.
  const auto bracket = authority.rfind(']');
  const auto colon = authority.rfind(':');
  if (colon == std::string_view::npos || (bracket != std::string_view::npos && colon < bracket)) server->port = "80";
  return prometheus_server{.server = *server, .path_prefix = prefix};
}

result<std::vector<promql_sample>> parse_promql_answer(const http_reply& reply) {
  const auto body = json::parse(reply.body, nullptr, false);
  if (reply.status != 200) {
    const bool ours = body.is_object() && body.contains("error") && body["error"].is_string();
    return make_error(error_kind::validation,
                      fmt::format("Prometheus answered {}: {}", reply.status,
                                  ours ? body["error"].get<std::string>() : reply.body.substr(0, 200)));
  }
  if (!body.is_object() || body.value("status", "") != "success" || !body.contains("data") ||
      !body["data"].is_object()) {
    return make_error(error_kind::validation,
                      "the answer is not Prometheus' query API JSON (is --prometheus a Prometheus server?)");
  }
  const json& data = body["data"];
  const std::string type = data.value("resultType", "");
  std::vector<promql_sample> samples;
  if (type == "scalar") {
    const auto value = sample_value(data.value("result", json()));
    if (!value) return make_error(error_kind::validation, "a scalar result without a value");
    samples.push_back({.labels = {}, .value = *value});
    return samples;
  }
  if (type != "vector") {
    return make_error(error_kind::validation,
                      fmt::format("the result is a {}, not an instant vector or scalar (a range selector such as "
                                  "x[5m] needs a function around it)",
                                  type.empty() ? "mystery" : type));
  }
  if (!data.contains("result") || !data["result"].is_array()) {
    return make_error(error_kind::validation, "a vector result without a result list");
  }
  for (const auto& item : data["result"]) {
    promql_sample sample;
    if (item.contains("metric") && item["metric"].is_object()) {
      for (const auto& [name, value] : item["metric"].items()) {
        if (value.is_string()) sample.labels[name] = value.get<std::string>();
      }
    }
    const auto value = sample_value(item.value("value", json()));
    if (!value) return make_error(error_kind::validation, "a vector sample without a value");
    sample.value = *value;
    samples.push_back(std::move(sample));
  }
  return samples;
}

result<std::vector<promql_sample>> promql_query(const prometheus_server& server, std::string_view expr,
                                                std::chrono::seconds timeout) {
  auto reply =
      http_call(server.server, "GET", fmt::format("{}/api/v1/query?query={}", server.path_prefix, url_encode(expr)), {},
                std::nullopt, timeout);
  if (!reply) {
    return make_error(error_kind::io, fmt::format("cannot reach Prometheus at {} (--prometheus): {}", server.text(),
                                                  reply.error().message));
  }
  return parse_promql_answer(*reply);
}

std::string_view to_string(promql_status status) noexcept {
  switch (status) {
    case promql_status::passed: return "passed";
    case promql_status::failed: return "failed";
    case promql_status::error: return "error";
  }
  return "?";
}

promql_check judge_promql(std::string expr, const result<std::vector<promql_sample>>& answer) {
  promql_check check{.expr = std::move(expr)};
  if (!answer) {
    check.status = promql_status::error;
    check.detail = answer.error().message;
    return check;
  }
  check.samples = answer->size();
  if (answer->empty()) {
    check.status = promql_status::failed;
    check.detail = "no samples (an empty result is false)";
    return check;
  }
  std::string values, zeros;
  std::size_t zero_count = 0;
  for (const auto& sample : *answer) {
    const bool is_true = !std::isnan(sample.value) && sample.value != 0;
    const std::string one = sample.labels.empty() ? fmt::format("{:g}", sample.value)
                                                  : fmt::format("{} = {:g}", labels_text(sample.labels), sample.value);
    if (!is_true && ++zero_count <= 3) zeros += (zeros.empty() ? "" : ", ") + one;
    if (values.size() < 200) values += (values.empty() ? "" : ", ") + one;
  }
  check.status = zero_count == 0 ? promql_status::passed : promql_status::failed;
  check.detail = zero_count == 0 ? fmt::format("{} sample(s), all non-zero: {}", answer->size(), values)
                                 : fmt::format("{} of {} sample(s) zero or NaN: {}", zero_count, answer->size(), zeros);
  return check;
}

std::string url_encode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace gpusoak::harness
