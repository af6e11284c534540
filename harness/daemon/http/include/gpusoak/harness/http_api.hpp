// gpusoakd's HTTP API as one function from request to response, apart from the sockets, so tests
// and the fuzzer drive it directly. Every answer is JSON ({"error": "..."} on a 4xx/5xx) except
// /metrics (Prometheus text), the gate's table and JUnit formats and the report's text and HTML.
//
//   POST /api/v1/runs                 {"plan": "smoke"} or {"plan_yaml": "..."}, "time_scale": 0.25
//                                     -> 201 {"id", "runs": [{"id", "gpu"}]}; 400, 404, 409 busy,
//                                        503 shutting down, 507 no room in the store
//   GET  /api/v1/runs[?limit=N]       -> 200 {"runs": [...]} newest first
//   GET  /api/v1/runs/{id}            -> 200 progress, phase, live figures, verdicts; 404 no such
//                                        run; 500 the store cannot be read
//   GET  /api/v1/runs/{id}/gate[?format=json|table|junit]  -> the plan's thresholds on the stored run,
//                                     evaluated, never stored; 404; 409 when its plan no longer parses
//   GET  /api/v1/runs/{id}/report[?format=json|text|html]  -> `gpusoak report`'s document, built
//                                     from the store as --db builds it (docs/report.md); 400; 404
//   POST /api/v1/runs/{id}/stop       -> 202; 404; 409 when not running
//   GET  /healthz                     -> 200 {"status": "ok", ...}
//   GET  /metrics                     -> Prometheus text format
//
// With a token set, POST requests need "Authorization: Bearer <token>" (401 otherwise); GET stays
// open. A POST carrying an Origin header (a web page's) is refused with 403, token or not
// (docs/security.md). Nothing here throws: a handler failure is a 500 with its message. Every
// error from the store, the manager or the gate is answered with http_status(its kind).
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>
#include <string>

#include "gpusoak/harness/daemon_metrics.hpp"
#include "gpusoak/harness/run_manager.hpp"
#include "gpusoak/harness/run_store.hpp"

namespace gpusoak::harness {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;
using http_response = boost::beast::http::response<boost::beast::http::string_body>;

struct api_context {
  run_store& store;
  run_manager& runs;
  daemon_metrics& metrics;
  std::optional<std::string> token;  // bearer token for POST requests, when set
  std::string version;
};

[[nodiscard]] http_response handle_request(const http_request& request, api_context& api);

// The status the API answers for an error of `kind`: validation 400, not_found 404, conflict 409,
// unsupported 422 (the request is well formed, this daemon cannot do it), out_of_space 507,
// out_of_memory, context_lost and unavailable 503, io and internal 500.
[[nodiscard]] unsigned http_status(error_kind kind) noexcept;

// A response with {"error": message} (the server uses it for requests that never parsed).
[[nodiscard]] http_response error_response(unsigned status, std::string_view message, unsigned version = 11,
                                           bool keep_alive = false);

}  // namespace gpusoak::harness
