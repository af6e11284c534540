// PromQL checks for `gpusoak fleet --promql EXPR`: an instant query on the fleet's Prometheus
// (GET /api/v1/query) and its verdict. A check passes when the result has at least one sample and
// every sample's value is non-zero (NaN counts as zero). So an empty result is false, and the
// `bool` modifier gives a check any comparison can use: `max(gpusoak_integrity_failures_total)
// == bool 0` is 1 when it holds and 0 when it does not. A plain filter such as `max(x) == 0` keeps
// the value 0 when it holds, which reads as false: write `== bool 0` instead.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gpusoak/error.hpp"
#include "gpusoak/harness/http_client.hpp"

namespace gpusoak::harness {

struct prometheus_server {
  daemon_url server;
  std::string path_prefix;  // "" or "/prometheus" when it is served under a path
  [[nodiscard]] std::string text() const { return server.text() + path_prefix; }
};

// "http://HOST[:PORT][/PREFIX]"; without a port, 80 (as the URL says; Prometheus' own default is
// 9090, so lab URLs usually name it). Errors (validation) name --prometheus.
[[nodiscard]] result<prometheus_server> parse_prometheus_url(std::string_view url);

struct promql_sample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

// The samples of an instant query's answer (vector or scalar result). Errors (validation): a
// non-200 answer (with Prometheus' error text, e.g. a parse error of the expression), a body that
// is not Prometheus' JSON, a range-vector (matrix) or string result.
[[nodiscard]] result<std::vector<promql_sample>> parse_promql_answer(const http_reply& reply);

// Runs the instant query at the server's current time. Errors: unreachable (io, naming
// the server and --prometheus), or parse_promql_answer's.
[[nodiscard]] result<std::vector<promql_sample>> promql_query(const prometheus_server& server, std::string_view expr,
                                                              std::chrono::seconds timeout = std::chrono::seconds(30));

enum class promql_status { passed, failed, error };
[[nodiscard]] std::string_view to_string(promql_status status) noexcept;

struct promql_check {
  std::string expr;
  promql_status status = promql_status::error;
  std::size_t samples = 0;
  std::string detail;  // the values seen, or why it failed or could not be evaluated
};

// The verdict on a query's outcome (pure): an error is `error`, else passed/failed by the rule above.
[[nodiscard]] promql_check judge_promql(std::string expr, const result<std::vector<promql_sample>>& answer);

// Percent-encodes everything but RFC 3986's unreserved characters (for the query string).
[[nodiscard]] std::string url_encode(std::string_view text);

}  // namespace gpusoak::harness
