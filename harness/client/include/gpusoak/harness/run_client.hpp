// Internal to the harness (namespace detail): the CLI's side of gpusoakd's runs API, shared by `gpusoak run` (one
// daemon) and `gpusoak fleet` (many): the start request, starting, polling, progress lines and run states.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gpusoak/error.hpp"
#include "gpusoak/harness/http_client.hpp"

namespace gpusoak::harness::detail {

// Requests that only read (polls, gates) give up sooner than the client's default: a fleet polls
// many machines and a dead one must not hold up the others for long.
inline constexpr std::chrono::seconds poll_timeout{10};

// The daemon's {"error": ...} message, or the body when it is not our JSON.
[[nodiscard]] std::string error_text(const http_reply& reply);

// A final run state as an exit code: passed 0, failed 1, aborted 3, anything else 2.
[[nodiscard]] int exit_for_state(std::string_view state);
// passed, failed, aborted and could_not_run are final; queued, running and interrupted are not
// (an interrupted run resumes when its daemon restarts).
[[nodiscard]] bool is_final(std::string_view state);

// A plan argument names a file when it has a path separator or a YAML extension.
[[nodiscard]] bool names_a_file(const std::string& plan);

// The body of POST /api/v1/runs: {"plan": NAME} or {"plan_yaml": <the file>}, plus "time_scale"
// when given. Errors (validation) name --plan or --time-scale and the value.
[[nodiscard]] result<std::string> start_request_body(const std::string& plan,
                                                     const std::optional<std::string>& time_scale);

// A --FLAG SECONDS value: a number in (0, 3600], `fallback` when absent; the error names the flag.
[[nodiscard]] result<std::chrono::milliseconds> parse_seconds(std::string_view flag,
                                                              const std::optional<std::string>& text, double fallback);

// GET `target` as JSON. A connection failure keeps http_call's `unsupported` kind; a non-200 answer
// is `validation` with the daemon's message; a body that is not JSON is `internal`.
[[nodiscard]] result<nlohmann::json> get_json(const daemon_url& url, const std::string& target,
                                              std::chrono::seconds timeout = std::chrono::seconds(30));

struct started_run {
  std::string id;
  int gpu = 0;
};

// POST /api/v1/runs. Errors: `unsupported` when the daemon cannot be reached (http_call's message),
// `validation` when it refused ("... refused the run (409): GPU 0 is busy with run ..."),
// `internal` when its answer names no run. Never retried here: a POST that timed out may have
// started the run, and sending it again would only meet a 409.
[[nodiscard]] result<std::vector<started_run>> start_runs(const daemon_url& url, const std::string& body,
                                                          const std::optional<std::string>& token);

// "phase 2 frag", "starting" before the first phase, "-" for a final run without phases.
[[nodiscard]] std::string phase_text(const nlohmann::json& run);
// One line of a run's progress (GET /api/v1/runs/{id}): id, phase, %, elapsed, samples, events, state.
[[nodiscard]] std::string progress_line(const nlohmann::json& run);

}  // namespace gpusoak::harness::detail
